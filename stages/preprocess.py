"""The autoencoder's inputs: both splits as float32 in [0, 1], deskewed when the params say so.

Done once here, so that training, encoding and the report read the same images
instead of each deskewing them again.
"""

from digitclust.method import transforms
from digitclust.pipeline import datafiles, stage, storage


def main(params, args):
    deskewed = params["autoencoder"]["deskew"]
    inputs = {}
    for split in ("train", "test"):
        images, _ = datafiles.load_images(args.dataset, split)
        inputs[f"x_{split}"] = transforms.deskew(images) if deskewed else images
    stage.log.info(
        "read %s; %s %d train and %d test images",
        args.dataset,
        "deskewed" if deskewed else "scaled",
        len(inputs["x_train"]),
        len(inputs["x_test"]),
    )
    storage.save_npz(args.output, **inputs)
    stage.log.info("wrote %s", args.output)


if __name__ == "__main__":
    stage.run(main, __doc__, "dataset", "output")
