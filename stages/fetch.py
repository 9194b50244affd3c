"""Fetch the dataset from the first working source into one deterministic .npz."""

from digitclust.datasets import sources
from digitclust.pipeline import stage, storage
from digitclust.pipeline.params import split_size


def main(params, args):
    config = params["data"]
    dataset = config["dataset"]
    declared = config["datasets"][dataset]
    arrays = sources.fetch(dataset, declared["sources"], config["timeout_s"], declared["sha256"])
    arrays = sources.head(arrays, split_size(params, "train"), split_size(params, "test"))
    storage.save_npz(args.output, **arrays)
    shapes = ", ".join(f"{key} {value.shape}" for key, value in sorted(arrays.items()))
    stage.log.info("wrote %s: %s", args.output, shapes)


if __name__ == "__main__":
    stage.run(main, __doc__, "output")
