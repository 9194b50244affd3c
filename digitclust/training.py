"""Training an autoencoder: its optimizer and loss, the seeded order of the images, the epochs."""

import logging
import math
import time

import numpy as np

from digitclust.backend import keras
from digitclust.errors import PipelineError

log = logging.getLogger(__name__)


class TrainingDiverged(PipelineError):
    """The loss became infinite or NaN; the message names the epoch and what to change."""


def compile_autoencoder(autoencoder, optimizer, learning_rate, loss, xla):
    """Compile with a named optimizer (adam, adadelta, rmsprop, sgd) and loss.

    With ``xla`` on TensorFlow, the training step is compiled with XLA, which fuses
    the optimizer's many elementwise updates into one pass. Other backends keep
    Keras' default (JAX always compiles).
    """
    optimizer = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    jit_compile = True if xla and keras.backend.backend() == "tensorflow" else "auto"
    autoencoder.compile(optimizer=optimizer, loss=loss, jit_compile=jit_compile)
    return autoencoder


def epoch_order(n, seed, epoch):
    """The order (a permutation of ``n`` indices) in which epoch ``epoch`` visits the images.

    Drawing each epoch's order from ``(seed, epoch)`` alone lets a resumed run see
    exactly the batches an uninterrupted one would.
    """
    return np.random.default_rng([seed, epoch]).permutation(n)


def _fit_data(train_images, val_images, batch_size):
    """Keras ``fit`` arguments that feed images (N, 28, 28) as both input and target, in order.

    On TensorFlow, tf.data pipelines with autotuning off: the helper threads of the
    pipeline Keras builds from arrays compete with training for the cores, which made
    every other epoch 60% slower on 2 cores. Other backends take the arrays.
    """
    if keras.backend.backend() != "tensorflow":
        return {"x": train_images, "y": train_images, "batch_size": batch_size,
                "validation_data": (val_images, val_images), "validation_batch_size": batch_size}
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    options.threading.private_threadpool_size = 1

    def batches(images):
        return tf.data.Dataset.from_tensor_slices((images, images)).batch(batch_size).with_options(options)

    return {"x": batches(train_images), "validation_data": batches(val_images)}


def train(autoencoder, train_images, val_images, epochs, batch_size, seed, start=0, history=None, after_epoch=None):
    """Fit the autoencoder to reconstruct ``train_images`` (N, 28, 28); return its history.

    Runs epochs ``start`` to ``epochs - 1`` (a resumed run passes the ``start`` and
    ``history`` of its checkpoint) and calls ``after_epoch(epochs_done, history)``
    after each. ``val_images`` only measures the validation loss; it never changes weights.
    History maps ``loss`` and ``val_loss`` to one value per epoch.
    """
    history = {key: list(values) for key, values in (history or {}).items()}
    log.info("training on %d images, epochs %d to %d, batch %d, with Keras on %s",
             len(train_images), start + 1, epochs, batch_size, keras.backend.backend())
    for epoch in range(start, epochs):
        began = time.perf_counter()
        shuffled = train_images[epoch_order(len(train_images), seed, epoch)]
        result = autoencoder.fit(
            **_fit_data(shuffled, val_images, batch_size),
            shuffle=False,  # already in the epoch's seeded order; Keras would reorder it
            verbose=0,
        )
        for key, values in result.history.items():
            history.setdefault(key, []).append(float(values[-1]))
        log.info(
            "epoch %d/%d: loss %.5f, val_loss %.5f (%.1f s)",
            epoch + 1, epochs, history["loss"][-1], history["val_loss"][-1], time.perf_counter() - began,
        )
        _check_converging(history, epoch + 1)
        if after_epoch is not None:
            after_epoch(epoch + 1, history)
    return history


def _check_converging(history, epoch):
    """Stop at the first epoch whose loss is not finite: the weights and codes after it are useless."""
    for key in ("loss", "val_loss"):
        if not math.isfinite(history[key][-1]):
            raise TrainingDiverged(
                f"training diverged: {key} {history[key][-1]} after epoch {epoch}; "
                "lower autoencoder.learning_rate in params.yaml"
            )
