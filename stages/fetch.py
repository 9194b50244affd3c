"""Fetch the dataset from the first working source into one deterministic .npz."""

from digitclust.datasets import sources
from digitclust.pipeline import stage, storage


def main(params, args):
    config = params["data"]
    dataset = config["dataset"]
    declared = config["datasets"][dataset]
    checksums = declared.get("sha256", {})
    arrays = sources.fetch(dataset, declared["sources"], config["timeout_s"], checksums, seed=params["seed"])
    arrays = sources.head(arrays, config["train_size"], config["test_size"], dataset=dataset)
    storage.save_npz(args.output, **arrays)
    shapes = ", ".join(f"{key} {value.shape}" for key, value in sorted(arrays.items()))
    stage.log.info("wrote %s: %s", args.output, shapes)


if __name__ == "__main__":
    stage.run(main, __doc__, "output")
