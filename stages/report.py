"""Pictures that explain the clusters: a 2-D map of the codes, cluster centres, typical members, purity bars.

The purity bars show every scored method of the metrics folder (``<method>.json``, as the
evaluate stages write them), from the lowest test purity to the highest; without labels in the
dataset, their silhouette instead, and the clusters are named by id (``digitclust.report.figures``).

Also the autoencoder's reconstructions, kept here rather than in the train stage so that
every output of training is cached (and restorable from DVC's run cache).
"""

import functools
from pathlib import Path

from digitclust.pipeline import datafiles, quiet, runtime, stage, storage
from digitclust.report import figures

N_RECONSTRUCTED = 10


def embed_2d(params, codes):
    """The codes (N, d) mapped to 2-D (N, 2) by UMAP with the cluster stage's neighbours, for the map."""
    umap = params["cluster"]["umap"]
    quiet.import_quietly("umap")  # umap imports TensorFlow
    from digitclust.method import embedding

    with quiet.printed_to_log(stage.log, skip_prefix="UMAP("):
        return embedding.fit_umap(
            codes,
            n_components=2,
            n_neighbors=umap["n_neighbors"],
            min_dist=umap["min_dist"],
            n_epochs=umap["n_epochs"],
            seed=params["seed"],
            verbose=True,
        )


def main(params, args):
    out = Path(args.output)
    labels = datafiles.load_labels(args.dataset)
    n_classes = None if labels is None else datafiles.count_classes(args.dataset, labels)
    train_labels, test_labels = (None, None) if labels is None else (labels["train"], labels["test"])
    codes = storage.load_npz(args.codes)
    baseline, clusters = storage.load_npz(args.baseline), storage.load_npz(args.clusters)
    stage.log.info(
        "read %s, %s, %s, %s, %s and %s",
        args.dataset,
        args.codes,
        args.baseline,
        args.clusters,
        args.encoder,
        args.decoder,
    )
    k = params["kmeans"]["k"]

    runtime.use_backend(params["autoencoder"]["backend"])
    from digitclust.method import inference

    runtime.configure()
    originals = datafiles.load_inputs(args.inputs, "test")[:N_RECONSTRUCTED]
    shape = originals.shape[1:]
    encoder = storage.load_keras(args.encoder, role="encoder", inputs=shape, outputs=(None,))
    code_shape = tuple(encoder.output_shape[1:])
    decoder = storage.load_keras(args.decoder, role="decoder", inputs=code_shape, outputs=shape)
    batch_size = params["autoencoder"]["batch_size"]
    decode = functools.partial(inference.decode, decoder, batch_size=batch_size)
    train_images, _ = datafiles.load_images(args.dataset, "train")
    figures.baseline_centres(train_images, train_labels, baseline["train"], k, n_classes, out)
    del train_images
    figures.decoded_centres(decode, codes["train"], train_labels, clusters["train"], k, n_classes, out)
    test_images, _ = datafiles.load_images(args.dataset, "test")
    reconstructed = inference.reconstruct(encoder, decoder, originals, batch_size=batch_size)
    figures.reconstructions(originals, reconstructed, out)
    n = params["report"]["typical_images"]
    figures.typical(test_images, test_labels, clusters["test"], codes["test"], k, n, n_classes, out)
    figures.code_map(embed_2d(params, codes["test"]), test_labels, clusters["test"], n_classes, out)
    figures.score_bars(args.metrics, labels is not None, out)
    stage.log.info("wrote the pictures in %s", out)


if __name__ == "__main__":
    stage.run(
        main, __doc__, "dataset", "inputs", "codes", "baseline", "clusters", "encoder", "decoder", "metrics", "output"
    )
