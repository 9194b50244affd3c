"""Pictures that explain the clusters: a 2-D map of the codes, cluster centres, typical members, purity bars.

Also the autoencoder's reconstructions, kept here rather than in the train stage so that
every output of training is cached (and restorable from DVC's run cache).
"""

import functools
import json
from pathlib import Path

import numpy as np

from digitclust import clustering, data, io, metrics, plots, stage


METHODS = ("baseline", "autoencoder")  # the methods whose clusters are drawn
SCORED = (*METHODS, "refined")  # the methods whose purity is drawn
SPLITS = ("train", "test")
N_RECONSTRUCTED = 10


def majority_order(labels, assignments):
    """Clusters sorted by their majority digit, with a label each ('4 → 0': cluster 4, mostly zeros)."""
    table = metrics.contingency(labels, assignments)
    majority = metrics.majority_class(table)
    order = np.argsort(majority, kind="stable")
    return order, [f"{c} → {majority[c]}" for c in order]


def draw_centres(p, args, decode, labels, assignments, codes, out):
    k = p["kmeans"]["k"]
    train_images, _ = data.load_images(args.dataset, "train")
    order, names = majority_order(labels, assignments["baseline"]["train"])
    centroids = clustering.cluster_means(train_images, assignments["baseline"]["train"], k)[order]
    del train_images
    plots.image_grid([centroids], out / "centres_baseline.png", "baseline: K-Means centroids (cluster → majority digit)",
                     [""], names)
    order, names = majority_order(labels, assignments["autoencoder"]["train"])
    mean_codes = clustering.cluster_means(codes["train"], assignments["autoencoder"]["train"], k)[order]
    decoded = decode(mean_codes)
    plots.image_grid([decoded], out / "centres_autoencoder.png", "autoencoder: decoded mean code of each cluster (cluster → majority digit)",
                     [""], names)


def draw_reconstructions(args, reconstruct, out):
    originals = data.load_inputs(args.inputs, "test")[:N_RECONSTRUCTED]
    reconstructed = reconstruct(originals)
    plots.reconstructions(originals, reconstructed, out / "reconstructions.png")


def draw_typical(p, test_images, test_labels, test_assignments, test_codes, out):
    n = p["report"]["typical_images"]
    nearest, farthest = clustering.typical_members(test_codes, test_assignments, p["kmeans"]["k"], n)
    order, names = majority_order(test_labels, test_assignments)
    rows = [[test_images[i] if i >= 0 else None for i in (*nearest[c], *farthest[c])] for c in order]
    columns = [f"typical {i + 1}" for i in range(n)] + [f"atypical {i + 1}" for i in range(n)]
    plots.image_grid(rows, out / "typical.png", "autoencoder clusters (cluster → majority digit), test split: most and least typical members",
                     names, columns)


def main(p, args):
    out = Path(args.output)
    labels = data.load_labels(args.dataset)
    codes = io.load_npz(args.codes)
    assignments = {method: io.load_npz(Path(args.assignments) / f"{method}.npz") for method in METHODS}
    stage.log.info("read %s, %s, %s, %s and %s", args.dataset, args.codes, args.assignments, args.encoder, args.decoder)

    stage.use_keras_backend(p["autoencoder"]["backend"])
    from digitclust import backend, inference

    backend.configure()
    encoder, decoder = inference.load(args.encoder), inference.load(args.decoder)
    batch_size = p["autoencoder"]["batch_size"]
    decode = functools.partial(inference.decode, decoder, batch_size=batch_size)
    reconstruct = functools.partial(inference.reconstruct, encoder, decoder, batch_size=batch_size)
    draw_centres(p, args, decode, labels["train"], assignments, codes, out)
    test_images, _ = data.load_images(args.dataset, "test")
    draw_reconstructions(args, reconstruct, out)
    draw_typical(p, test_images, labels["test"], assignments["autoencoder"]["test"], codes["test"], out)
    umap = p["cluster"]["umap"]
    embedding = clustering.fit_umap(codes["test"], 2, umap["n_neighbors"], umap["min_dist"], umap["n_epochs"], p["seed"])
    clusters = assignments["autoencoder"]["test"]
    cluster_digits = metrics.majority_class(metrics.contingency(labels["test"], clusters))[clusters]
    plots.code_map(embedding, cluster_digits, labels["test"], out / "map.png", "test codes, UMAP to 2-D (autoencoder method)")
    scores = json.loads(Path(args.metrics).read_text())
    ordered = {method: {split: scores[method][split] for split in SPLITS} for method in SCORED}
    plots.score_bars(ordered, "purity", out / "purity.png")
    stage.log.info("wrote the pictures in %s", out)


if __name__ == "__main__":
    stage.run(main, __doc__, "dataset", "inputs", "codes", "assignments", "encoder", "decoder", "metrics", "output")
