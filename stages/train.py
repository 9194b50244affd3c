"""Train the autoencoder on the train split; save its encoder and its decoder; log every epoch with DVCLive.

The saved models hold weights and architecture only; the optimizer's state stays in the
checkpoints, which a resumed training needs. The DVCLive folder is written while training
runs, and removed if it stops before the end.

With ``autoencoder.checkpoint`` on, progress is saved after every epoch into the
checkpoint folder, and a rerun of the same params on the same data resumes there.
"""

import hashlib
import json
import shutil

from digitclust.pipeline import datafiles, runtime, stage, storage


def fingerprint(params, inputs):
    """Identify what a checkpoint was trained with: seed, autoencoder params and the inputs' bytes."""
    settings = {"seed": params["seed"], **{k: v for k, v in params["autoencoder"].items() if k != "checkpoint"}}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    with open(inputs, "rb") as file:
        digest.update(hashlib.file_digest(file, "sha256").digest())
    return digest.hexdigest()


def prepare(params, checkpoint, key, image_shape):
    """Return ``(autoencoder, epochs_done, history)``, resumed from ``checkpoint`` when it holds this run.

    A new autoencoder is built for images of ``image_shape``.
    """
    from digitclust.method import training
    from digitclust.pipeline import checkpoints

    config = params["autoencoder"]
    resumed = checkpoints.load_checkpoint(checkpoint, key) if config["checkpoint"] else None
    if resumed is not None:
        stage.log.info("resuming from %s after epoch %d", checkpoint, resumed[1])
        return resumed
    autoencoder = training.new_autoencoder(
        config["architecture"],
        image_shape=image_shape,
        code_size=config["code_size"],
        optimizer=config["optimizer"],
        learning_rate=config["learning_rate"],
        loss=config["loss"],
        xla=config["xla"],
    )
    return autoencoder, 0, None


def main(params, args):
    config = params["autoencoder"]
    runtime.use_backend(config["backend"])
    from digitclust.method import encoders, training
    from digitclust.pipeline import checkpoints, tracking

    runtime.set_seed(params["seed"], config["xla"])
    train_images, test_images = (datafiles.load_inputs(args.inputs, split) for split in ("train", "test"))
    stage.log.info("read %d train and %d test images from %s", len(train_images), len(test_images), args.inputs)
    key = fingerprint(params, args.inputs)
    autoencoder, done, history = prepare(params, args.checkpoint, key, train_images.shape[1:])

    try:
        with tracking.live_log(args.live, {"seed": params["seed"], **config}, history) as live:

            def after_epoch(epochs_done, history_so_far):
                tracking.log_epoch(live, epochs_done, {name: values[-1] for name, values in history_so_far.items()})
                if config["checkpoint"]:
                    checkpoints.save_checkpoint(args.checkpoint, autoencoder, epochs_done, history_so_far, key)

            with stage.advice_on_divergence("autoencoder.learning_rate"):
                training.train(
                    autoencoder,
                    train_images,
                    epochs=config["epochs"],
                    batch_size=config["batch_size"],
                    seed=params["seed"],
                    validation_images=test_images,
                    start=done,
                    history=history,
                    after_epoch=after_epoch,
                )
    except BaseException:
        shutil.rmtree(args.live, ignore_errors=True)  # a partial log is no output; a resumed run logs every epoch again
        raise
    stage.log.info("logged every epoch in %s", args.live)
    for model, path in (
        (encoders.encoder_of(autoencoder), args.encoder),
        (encoders.decoder_of(autoencoder), args.decoder),
    ):
        storage.save_keras(model, path)
        stage.log.info("wrote %s", path)
    shutil.rmtree(args.checkpoint, ignore_errors=True)


if __name__ == "__main__":
    stage.run(main, __doc__, "inputs", "encoder", "decoder", "live", "checkpoint")
