"""Encode both splits with the trained encoder."""

from digitclust import data, io, stage


def main(p, args):
    stage.use_keras_backend(p["autoencoder"]["backend"])
    from digitclust import backend, inference

    backend.configure()
    encoder = inference.load(args.encoder)
    codes = {}
    for split in ("train", "test"):
        images = data.load_inputs(args.inputs, split)
        codes[split] = inference.encode(encoder, images, p["autoencoder"]["batch_size"])
        stage.log.info("encoded %d %s images from %s to codes %s", len(images), split, args.inputs, codes[split].shape)
    io.save_npz(args.output, **codes)
    stage.log.info("wrote %s", args.output)


if __name__ == "__main__":
    stage.run(main, __doc__, "inputs", "encoder", "output")
