"""Baseline: K-Means on raw pixels, fitted on the train split; assignments for both splits."""

from digitclust import clustering, data, io, params, stage


def main(p, args):
    train_images, _ = data.load_images(args.dataset, "train")
    stage.log.info("read %d train images from %s; fitting k-means on raw pixels", len(train_images), args.dataset)
    params.check_fits(p, train_images, args.dataset)
    kmeans = clustering.fit_kmeans(train_images.reshape(len(train_images), -1), **p["kmeans"], seed=p["seed"])
    del train_images
    test_images, _ = data.load_images(args.dataset, "test")
    test_assignments = kmeans.predict(test_images.reshape(len(test_images), -1))
    io.save_npz(args.output, train=kmeans.labels_, test=test_assignments)
    stage.log.info("wrote %s", args.output)


if __name__ == "__main__":
    stage.run(main, __doc__, "dataset", "output")
