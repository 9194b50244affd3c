"""Pictures that explain the clusters: a 2-D map of the codes, cluster centres, typical members, purity bars.

The purity bars show every scored method of the metrics folder (``<method>.json``, as the
evaluate stages write them), from the lowest test purity to the highest.

Also the autoencoder's reconstructions, kept here rather than in the train stage so that
every output of training is cached (and restorable from DVC's run cache).
"""

import functools
import json
from pathlib import Path

import numpy as np

from digitclust.datasets import loading
from digitclust.method import clustering, metrics
from digitclust.pipeline import quiet, runtime, stage, storage
from digitclust.report import plots

SPLITS = ("train", "test")
N_RECONSTRUCTED = 10


def majority_order(labels, assignments):
    """Clusters sorted by their majority digit, with a label each ('4 → 0': cluster 4, mostly zeros)."""
    table = metrics.contingency(labels, assignments)
    majority = metrics.majority_class(table)
    order = np.argsort(majority, kind="stable")
    return order, [f"{c} → {majority[c]}" for c in order]


def draw_centres(params, args, decode, labels, assignments, codes, out):
    k = params["kmeans"]["k"]
    train_images, _ = loading.load_images(args.dataset, "train")
    order, names = majority_order(labels, assignments["baseline"]["train"])
    centroids = clustering.cluster_means(train_images, assignments["baseline"]["train"], k)[order]
    del train_images
    plots.image_grid(
        [centroids], out / "centres_baseline.png", "baseline: K-Means centroids (cluster → majority digit)", [""], names
    )
    order, names = majority_order(labels, assignments["clusters"]["train"])
    mean_codes = clustering.cluster_means(codes["train"], assignments["clusters"]["train"], k)[order]
    decoded = decode(mean_codes)
    plots.image_grid(
        [decoded],
        out / "centres_autoencoder.png",
        "autoencoder: decoded mean code of each cluster (cluster → majority digit)",
        [""],
        names,
    )


def draw_reconstructions(args, reconstruct, out):
    originals = loading.load_inputs(args.inputs, "test")[:N_RECONSTRUCTED]
    reconstructed = reconstruct(originals)
    plots.reconstructions(originals, reconstructed, out / "reconstructions.png")


def draw_typical(params, test_images, test_labels, test_assignments, test_codes, out):
    n = params["report"]["typical_images"]
    nearest, farthest = clustering.typical_members(test_codes, test_assignments, params["kmeans"]["k"], n)
    order, names = majority_order(test_labels, test_assignments)
    rows = [[test_images[i] if i >= 0 else None for i in (*nearest[c], *farthest[c])] for c in order]
    columns = [f"typical {i + 1}" for i in range(n)] + [f"atypical {i + 1}" for i in range(n)]
    plots.image_grid(
        rows,
        out / "typical.png",
        "autoencoder clusters (cluster → majority digit), test split: most and least typical members",
        names,
        columns,
    )


def map_codes(params, labels, clusters, codes, out):
    umap = params["cluster"]["umap"]
    quiet.import_quietly("umap")  # umap imports TensorFlow
    from digitclust.method import embedding

    with quiet.printed_to_log(stage.log, skip_prefix="UMAP("):
        embedding_2d = embedding.fit_umap(
            codes,
            n_components=2,
            n_neighbors=umap["n_neighbors"],
            min_dist=umap["min_dist"],
            n_epochs=umap["n_epochs"],
            seed=params["seed"],
            verbose=True,
        )
    cluster_digits = metrics.majority_class(metrics.contingency(labels, clusters))[clusters]
    plots.code_map(
        embedding_2d, cluster_digits, labels, out / "map.png", "test codes, UMAP to 2-D (autoencoder method)"
    )


def read_purity(folder):
    """``{method: {split: {"purity": value}}}`` of every ``<method>.json`` in ``folder``, lowest test purity first."""
    scores = {path.stem: json.loads(path.read_text())["purity"] for path in sorted(Path(folder).glob("*.json"))}
    ranked = sorted(scores, key=lambda method: scores[method]["test"])
    return {method: {split: {"purity": scores[method][split]} for split in SPLITS} for method in ranked}


def main(params, args):
    out = Path(args.output)
    labels = loading.load_labels(args.dataset)
    codes = storage.load_npz(args.codes)
    assignments = {"baseline": storage.load_npz(args.baseline), "clusters": storage.load_npz(args.clusters)}
    stage.log.info(
        "read %s, %s, %s, %s, %s and %s",
        args.dataset,
        args.codes,
        args.baseline,
        args.clusters,
        args.encoder,
        args.decoder,
    )

    runtime.use_backend(params["autoencoder"]["backend"])
    from digitclust.method import inference

    runtime.configure()
    encoder = storage.load_keras(args.encoder, role="encoder", inputs=loading.IMAGE_SHAPE, outputs=(None,))
    code_shape = tuple(encoder.output_shape[1:])
    decoder = storage.load_keras(args.decoder, role="decoder", inputs=code_shape, outputs=loading.IMAGE_SHAPE)
    batch_size = params["autoencoder"]["batch_size"]
    decode = functools.partial(inference.decode, decoder, batch_size=batch_size)
    reconstruct = functools.partial(inference.reconstruct, encoder, decoder, batch_size=batch_size)
    draw_centres(params, args, decode, labels["train"], assignments, codes, out)
    test_images, _ = loading.load_images(args.dataset, "test")
    draw_reconstructions(args, reconstruct, out)
    draw_typical(params, test_images, labels["test"], assignments["clusters"]["test"], codes["test"], out)
    map_codes(params, labels["test"], assignments["clusters"]["test"], codes["test"], out)
    plots.score_bars(read_purity(args.metrics), "purity", out / "purity.png")
    stage.log.info("wrote the pictures in %s", out)


if __name__ == "__main__":
    stage.run(
        main, __doc__, "dataset", "inputs", "codes", "baseline", "clusters", "encoder", "decoder", "metrics", "output"
    )
