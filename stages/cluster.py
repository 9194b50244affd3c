"""Cluster the autoencoder's codes (fitted on train), after embedding them with UMAP; assignments for both splits.

Also writes the embedding it clustered (the codes themselves with ``cluster.manifold: none``),
on which the evaluate stages score clusters without labels.

``cluster.method`` names a method of ``digitclust.method.clustering.METHODS``: ``kmeans`` takes the
options of the ``kmeans`` section, any other method those of ``cluster.<method>``.
"""

import numpy as np

from digitclust import errors
from digitclust.method import clustering
from digitclust.pipeline import quiet, stage, storage
from digitclust.pipeline.params import check_fits


def main(params, args):
    codes = storage.load_npz(args.codes)
    train, test = codes["train"], codes["test"]
    stage.log.info("read codes %s (train) and %s (test) from %s", train.shape, test.shape, args.codes)
    if not (np.isfinite(train).all() and np.isfinite(test).all()):
        raise errors.PipelineError(f"{args.codes}: some codes are not finite numbers; retrain the autoencoder")
    check_fits(params, train, args.codes)
    if params["cluster"]["manifold"] == "umap":
        quiet.import_quietly("umap", "umap.umap_")  # umap imports TensorFlow
        from digitclust.method import embedding

        umap = params["cluster"]["umap"]
        stage.log.info("embedding %d train codes with UMAP %s", len(train), umap)
        with quiet.printed_to_log(stage.log, skip_prefix="UMAP("):  # its repr prints the whole graph
            train, test = embedding.umap_embed(train, test, **umap, seed=params["seed"], verbose=True)
    method = params["cluster"]["method"]
    if method == "kmeans":
        options = {key: value for key, value in params["kmeans"].items() if key != "k"}
    else:
        options = dict(params["cluster"].get(method, {}))
    stage.log.info("clustering %d train points with %s %s", len(train), method, options)
    train_ids, test_ids = clustering.cluster(
        train, test, method=method, k=params["kmeans"]["k"], seed=params["seed"], **options
    )
    storage.save_npz(args.output, train=train_ids, test=test_ids)
    storage.save_npz(args.embedding, train=train, test=test)
    stage.log.info("wrote %s and %s", args.output, args.embedding)


if __name__ == "__main__":
    stage.run(main, __doc__, "codes", "output", "embedding")
