"""Relabel both splits with a CNN trained on the train split's clusters; with refine.enabled off, keep the clusters."""

from digitclust import errors
from digitclust.pipeline import datafiles, runtime, stage, storage

SPLITS = ("train", "test")


def checked_clusters(path, k, sizes):
    """The cluster ids of both splits from ``path``: one per image, each from 0 to k - 1."""
    clusters = storage.load_npz(path)
    for split in SPLITS:
        ids = clusters[split]
        if len(ids) != sizes[split] or ids.min() < 0 or ids.max() >= k:
            raise errors.PipelineError(
                f"{path}: expected {sizes[split]} {split} cluster ids from 0 to {k - 1}; `dvc repro` rebuilds it"
            )
    return clusters


def main(params, args):
    config = params["refine"]
    images = {split: datafiles.load_inputs(args.inputs, split) for split in SPLITS}
    clusters = checked_clusters(args.clusters, params["kmeans"]["k"], {split: len(images[split]) for split in SPLITS})
    stage.log.info(
        "read %d train and %d test images from %s and their clusters from %s",
        len(images["train"]),
        len(images["test"]),
        args.inputs,
        args.clusters,
    )
    if not config["enabled"]:
        storage.save_npz(args.output, **clusters)
        stage.log.info("refine.enabled is false: wrote the clusters unchanged to %s", args.output)
        return

    runtime.use_backend(params["autoencoder"]["backend"])
    from digitclust.method import refinement

    runtime.set_seed(params["seed"], xla=False)  # Keras' random image layers cannot be compiled with XLA
    with stage.advice_on_divergence("refine.learning_rate"):
        refined = refinement.refine(
            images["train"],
            clusters["train"],
            images["test"],
            n_clusters=params["kmeans"]["k"],
            epochs=config["epochs"],
            batch_size=config["batch_size"],
            learning_rate=config["learning_rate"],
            **config["augment"],
            seed=params["seed"],
        )
    relabelled = dict(zip(SPLITS, refined, strict=True))
    for split in SPLITS:
        moved = int((relabelled[split] != clusters[split]).sum())
        stage.log.info(
            "%s: the classifier moved %d of %d images (%.2f%%) to another cluster",
            split,
            moved,
            len(images[split]),
            100 * moved / len(images[split]),
        )
    storage.save_npz(args.output, **relabelled)
    stage.log.info("wrote %s", args.output)


if __name__ == "__main__":
    stage.run(main, __doc__, "inputs", "clusters", "output")
