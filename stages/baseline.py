"""Baseline: K-Means on raw pixels, fitted on the train split; assignments for both splits."""

from digitclust.method import clustering
from digitclust.pipeline import datafiles, stage, storage
from digitclust.pipeline.params import check_fits


def main(params, args):
    train_images, _ = datafiles.load_images(args.dataset, "train")
    test_images, _ = datafiles.load_images(args.dataset, "test")
    stage.log.info(
        "read %d train and %d test images from %s; fitting k-means on raw pixels",
        len(train_images),
        len(test_images),
        args.dataset,
    )
    check_fits(params, train_images, args.dataset)
    train, test = clustering.kmeans(
        train_images.reshape(len(train_images), -1),
        test_images.reshape(len(test_images), -1),
        **params["kmeans"],
        seed=params["seed"],
    )
    storage.save_npz(args.output, train=train, test=test)
    stage.log.info("wrote %s", args.output)


if __name__ == "__main__":
    stage.run(main, __doc__, "dataset", "output")
