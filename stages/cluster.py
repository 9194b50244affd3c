"""Cluster the autoencoder's codes (fitted on train); assignments for both splits."""

import numpy as np

from digitclust import clustering, errors, io, params, stage


def main(p, args):
    codes = io.load_npz(args.codes)
    stage.log.info("read codes %s (train) and %s (test) from %s", codes["train"].shape, codes["test"].shape, args.codes)
    if not all(np.isfinite(split_codes).all() for split_codes in codes.values()):
        raise errors.PipelineError(f"{args.codes}: some codes are not finite numbers; retrain the autoencoder")
    params.check_fits(p, codes["train"], args.codes)
    train, test = clustering.cluster_codes(codes["train"], codes["test"], p, seed=p["seed"])
    io.save_npz(args.output, train=train, test=test)
    stage.log.info("wrote %s", args.output)


if __name__ == "__main__":
    stage.run(main, __doc__, "codes", "output")
