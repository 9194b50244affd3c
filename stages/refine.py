"""Relabel both splits with a CNN trained on the train split's clusters; with refine.enabled off, keep the clusters."""

import math

from digitclust import data, errors, io, stage

SPLITS = ("train", "test")


def checked_clusters(path, k, sizes):
    """The cluster ids of both splits from ``path``: one per image, each from 0 to k - 1."""
    clusters = io.load_npz(path)
    for split in SPLITS:
        ids = clusters[split]
        if len(ids) != sizes[split] or ids.min() < 0 or ids.max() >= k:
            raise errors.PipelineError(f"{path}: expected {sizes[split]} {split} cluster ids from 0 to {k - 1};"
                                       " `dvc repro` rebuilds it")
    return clusters


def main(p, args):
    config = p["refine"]
    images = {split: data.load_inputs(args.inputs, split) for split in SPLITS}
    clusters = checked_clusters(args.clusters, p["kmeans"]["k"], {split: len(images[split]) for split in SPLITS})
    stage.log.info("read %d train and %d test images from %s and their clusters from %s",
                   len(images["train"]), len(images["test"]), args.inputs, args.clusters)
    if not config["enabled"]:
        io.save_npz(args.output, **clusters)
        stage.log.info("refine.enabled is false: wrote the clusters unchanged to %s", args.output)
        return

    stage.use_keras_backend(p["autoencoder"]["backend"])
    from digitclust import backend, refinement, training

    backend.set_seed(p["seed"], xla=False)  # Keras' random image layers cannot be compiled with XLA
    classifier = refinement.build_classifier(p["kmeans"]["k"], config["augment"], p["seed"])
    steps = config["epochs"] * math.ceil(len(images["train"]) / config["batch_size"])
    refinement.compile_classifier(classifier, config["learning_rate"], steps)
    training.train(classifier, images["train"], config["epochs"], config["batch_size"], p["seed"],
                   targets=clusters["train"], rate_key="refine.learning_rate")
    relabelled = {split: refinement.relabel(classifier, images[split], config["batch_size"]) for split in SPLITS}
    for split in SPLITS:
        moved = int((relabelled[split] != clusters[split]).sum())
        stage.log.info("%s: the classifier moved %d of %d images (%.2f%%) to another cluster",
                       split, moved, len(images[split]), 100 * moved / len(images[split]))
    io.save_npz(args.output, **relabelled)
    stage.log.info("wrote %s", args.output)


if __name__ == "__main__":
    stage.run(main, __doc__, "inputs", "clusters", "output")
