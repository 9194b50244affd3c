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

from digitclust import data, io, stage


def fingerprint(p, inputs):
    """Identify what a checkpoint was trained with: seed, autoencoder params and the inputs' bytes."""
    settings = {"seed": p["seed"], **{k: v for k, v in p["autoencoder"].items() if k != "checkpoint"}}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    with open(inputs, "rb") as file:
        digest.update(hashlib.file_digest(file, "sha256").digest())
    return digest.hexdigest()


def prepare(p, checkpoint, key):
    """Return ``(autoencoder, epochs_done, history)``, resumed from ``checkpoint`` when it holds this run."""
    from digitclust import architecture, checkpoints, training

    config = p["autoencoder"]
    resumed = checkpoints.load_checkpoint(checkpoint, key) if config["checkpoint"] else None
    if resumed is not None:
        stage.log.info("resuming from %s after epoch %d", checkpoint, resumed[1])
        return resumed
    autoencoder, _ = architecture.build_autoencoder(config["architecture"], config["code_size"])
    training.compile_autoencoder(autoencoder, config["optimizer"], config["learning_rate"], config["loss"], config["xla"])
    return autoencoder, 0, None


def main(p, args):
    config = p["autoencoder"]
    stage.use_keras_backend(config["backend"])
    from digitclust import architecture, backend, checkpoints, tracking, training

    backend.set_seed(p["seed"], config["xla"])
    train_images, test_images = (data.load_inputs(args.inputs, split) for split in ("train", "test"))
    stage.log.info("read %d train and %d test images from %s", len(train_images), len(test_images), args.inputs)
    key = fingerprint(p, args.inputs)
    autoencoder, done, history = prepare(p, args.checkpoint, key)

    try:
        with tracking.live_log(args.live, {"seed": p["seed"], **config}, history) as live:

            def after_epoch(epochs_done, history_so_far):
                tracking.log_epoch(live, epochs_done, {name: values[-1] for name, values in history_so_far.items()})
                if config["checkpoint"]:
                    checkpoints.save_checkpoint(args.checkpoint, autoencoder, epochs_done, history_so_far, key)

            training.train(autoencoder, train_images, config["epochs"], config["batch_size"], p["seed"],
                           val_images=test_images, start=done, history=history, after_epoch=after_epoch)
    except BaseException:
        shutil.rmtree(args.live, ignore_errors=True)  # a partial log is no output; a resumed run logs every epoch again
        raise
    stage.log.info("logged every epoch in %s", args.live)
    for model, path in ((architecture.encoder_of(autoencoder), args.encoder),
                        (architecture.decoder_of(autoencoder), args.decoder)):
        io.save_keras(model, path)
        stage.log.info("wrote %s", path)
    shutil.rmtree(args.checkpoint, ignore_errors=True)


if __name__ == "__main__":
    stage.run(main, __doc__, "inputs", "encoder", "decoder", "live", "checkpoint")
