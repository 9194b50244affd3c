"""Encode both splits with the trained encoder."""

from digitclust.pipeline import datafiles, runtime, stage, storage


def main(params, args):
    runtime.use_backend(params["autoencoder"]["backend"])
    from digitclust.method import inference

    runtime.configure()
    inputs = {split: datafiles.load_inputs(args.inputs, split) for split in ("train", "test")}
    shape = inputs["train"].shape[1:]
    encoder = storage.load_keras(args.encoder, role="encoder", inputs=shape, outputs=(None,))
    codes = {}
    for split, images in inputs.items():
        codes[split] = inference.encode(encoder, images, batch_size=params["autoencoder"]["batch_size"])
        stage.log.info("encoded %d %s images from %s to codes %s", len(images), split, args.inputs, codes[split].shape)
    storage.save_npz(args.output, **codes)
    stage.log.info("wrote %s", args.output)


if __name__ == "__main__":
    stage.run(main, __doc__, "inputs", "encoder", "output")
