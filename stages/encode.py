"""Encode both splits with the trained encoder."""

from digitclust import data, io, models, stage


def main(p, args):
    models.configure_backend()
    encoder = models.load(args.encoder)
    codes = {}
    for split in ("train", "test"):
        images = data.load_inputs(args.inputs, split)
        codes[split] = models.encode(encoder, images, p["autoencoder"]["batch_size"])
        stage.log.info("encoded %d %s images from %s to codes %s", len(images), split, args.inputs, codes[split].shape)
    io.save_npz(args.output, **codes)
    stage.log.info("wrote %s", args.output)


if __name__ == "__main__":
    stage.run(main, __doc__, "inputs", "encoder", "output")
