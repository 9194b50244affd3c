"""Fetch the dataset from the first working source into one deterministic .npz."""

from digitclust import io, params, sources, stage


def main(p, args):
    config = p["data"]
    dataset = config["dataset"]
    arrays = sources.fetch(dataset, config["sources"][dataset], config["timeout_s"])
    arrays = sources.head(arrays, params.split_size(p, "train"), params.split_size(p, "test"))
    io.save_npz(args.output, **arrays)
    shapes = ", ".join(f"{key} {value.shape}" for key, value in sorted(arrays.items()))
    stage.log.info("wrote %s: %s", args.output, shapes)


if __name__ == "__main__":
    stage.run(main, __doc__, "output")
