"""Cluster the autoencoder's codes (fitted on train); assignments for both splits."""

from digitclust import clustering, io, stage


def main(p, args):
    codes = io.load_npz(args.codes)
    stage.log.info("read codes %s (train) and %s (test) from %s", codes["train"].shape, codes["test"].shape, args.codes)
    train, test = clustering.cluster_codes(codes["train"], codes["test"], p, seed=p["seed"])
    io.save_npz(args.output, train=train, test=test)
    stage.log.info("wrote %s", args.output)


if __name__ == "__main__":
    stage.run(main, __doc__, "codes", "output")
