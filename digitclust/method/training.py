"""Training a Keras model on images: the autoencoder's optimizer and loss, the seeded order of the images, the epochs."""

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from digitclust.errors import TrainingDiverged

log = logging.getLogger(__name__)


History = dict[str, list[float]]


def compile_autoencoder(autoencoder: keras.Model, *, optimizer: str, learning_rate: float, loss: str,
                        xla: bool) -> keras.Model:
    """Compile with a named optimizer (adam, adadelta, rmsprop, sgd) and loss.

    With ``xla`` on TensorFlow, the training step is compiled with XLA, which fuses
    the optimizer's many elementwise updates into one pass. Other backends keep
    Keras' default (JAX always compiles).
    """
    optimizer = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    jit_compile = True if xla and keras.backend.backend() == "tensorflow" else "auto"
    autoencoder.compile(optimizer=optimizer, loss=loss, jit_compile=jit_compile)
    return autoencoder


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order (a permutation of ``n`` indices) in which epoch ``epoch`` visits the images.

    Drawing each epoch's order from ``(seed, epoch)`` alone lets a resumed run see
    exactly the batches an uninterrupted one would.
    """
    return np.random.default_rng([seed, epoch]).permutation(n)


def _fit_data(images: np.ndarray, targets: np.ndarray, batch_size: int,
              validation: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, Any]:
    """Keras ``fit`` arguments that feed ``images`` (N, 28, 28) and their ``targets`` in order.

    ``validation``, an ``(images, targets)`` pair or None, is measured after the epoch.
    On TensorFlow, tf.data pipelines with autotuning off: the helper threads of the
    pipeline Keras builds from arrays compete with training for the cores, which made
    every other epoch 60% slower on 2 cores. Other backends take the arrays.
    """
    if keras.backend.backend() != "tensorflow":
        return {"x": images, "y": targets, "batch_size": batch_size,
                "validation_data": validation, "validation_batch_size": batch_size}
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    options.threading.private_threadpool_size = 1

    def batches(pair):
        return tf.data.Dataset.from_tensor_slices(pair).batch(batch_size).with_options(options)

    return {"x": batches((images, targets)), "validation_data": None if validation is None else batches(validation)}


def train(model: keras.Model, images: np.ndarray, *, epochs: int, batch_size: int, seed: int,
          targets: np.ndarray | None = None, validation_images: np.ndarray | None = None, start: int = 0,
          history: History | None = None, after_epoch: Callable[[int, History], None] | None = None) -> History:
    """Fit ``model`` to map ``images`` (N, 28, 28) to ``targets`` (the images themselves when None); return its history.

    Runs epochs ``start`` to ``epochs - 1`` (a resumed run passes the ``start`` and
    ``history`` of its checkpoint) and calls ``after_epoch(epochs_done, history)``
    after each. ``validation_images`` (autoencoders only) measures a validation loss; it never
    changes weights. History maps ``loss`` (and ``val_loss``) to one value per epoch. A loss
    that is not finite raises TrainingDiverged.
    """
    history = {key: list(values) for key, values in (history or {}).items()}
    log.info("training on %d images, epochs %d to %d, batch %d, with Keras on %s",
             len(images), start + 1, epochs, batch_size, keras.backend.backend())
    validation = None if validation_images is None else (validation_images, validation_images)
    for epoch in range(start, epochs):
        began = time.perf_counter()
        order = epoch_order(len(images), seed, epoch)
        shuffled = images[order]
        result = model.fit(
            **_fit_data(shuffled, shuffled if targets is None else targets[order], batch_size, validation),
            shuffle=False,  # already in the epoch's seeded order; Keras would reorder it
            verbose=0,
        )
        for key, values in result.history.items():
            history.setdefault(key, []).append(float(values[-1]))
        losses = ", ".join(f"{key} {values[-1]:.5f}" for key, values in history.items())
        log.info("epoch %d/%d: %s (%.1f s)", epoch + 1, epochs, losses, time.perf_counter() - began)
        _check_converging(history, epoch + 1)
        if after_epoch is not None:
            after_epoch(epoch + 1, history)
    return history


def _check_converging(history: History, epoch: int) -> None:
    """Stop at the first epoch whose loss is not finite: the weights and codes after it are useless."""
    for key, values in history.items():
        if not math.isfinite(values[-1]):
            raise TrainingDiverged(f"training diverged: {key} {values[-1]} after epoch {epoch}")
