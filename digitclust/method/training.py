"""Training a Keras model on images: the autoencoder's optimizer and loss, the seeded order of the images, the epochs.

``fit_autoencoder`` is the whole step (seed, build, compile, train); the train stage runs its
parts itself (``new_autoencoder``, then ``train``) to resume from checkpoints in between.
"""

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from digitclust.errors import TrainingDiverged
from digitclust.method import encoders

log = logging.getLogger(__name__)


History = dict[str, list[float]]


def compile_autoencoder(
    autoencoder: keras.Model, *, optimizer: str, learning_rate: float, loss: str, xla: bool
) -> keras.Model:
    """Compile with a named optimizer (adam, adadelta, rmsprop, sgd) and loss.

    With ``xla`` on TensorFlow, the training step is compiled with XLA, which fuses
    the optimizer's many elementwise updates into one pass. Other backends keep
    Keras' default (JAX always compiles).
    """
    optimizer = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    jit_compile = True if xla and keras.backend.backend() == "tensorflow" else "auto"
    autoencoder.compile(optimizer=optimizer, loss=loss, jit_compile=jit_compile)
    return autoencoder


def new_autoencoder(
    architecture: str = "dense",
    *,
    image_shape: tuple[int, ...],
    code_size: int = 32,
    optimizer: str = "adam",
    learning_rate: float = 0.001,
    loss: str = "mse",
    xla: bool = True,
) -> keras.Model:
    """A registered ``architecture`` (``encoders.build_autoencoder``), compiled with ``compile_autoencoder``.

    It maps images (N, *image_shape) to reconstructions of that shape; ``encoders.encoder_of``
    gives its encoder to codes (N, code_size). Its weights are drawn from Keras' global
    seed: seed it first (``keras.utils.set_random_seed``) for reproducible weights.
    """
    autoencoder, _ = encoders.build_autoencoder(architecture, code_size=code_size, image_shape=image_shape)
    return compile_autoencoder(autoencoder, optimizer=optimizer, learning_rate=learning_rate, loss=loss, xla=xla)


def fit_autoencoder(
    images: np.ndarray,
    *,
    architecture: str = "dense",
    code_size: int = 32,
    epochs: int = 10,
    batch_size: int = 256,
    optimizer: str = "adam",
    learning_rate: float = 0.001,
    loss: str = "mse",
    xla: bool = True,
    seed: int = 0,
    validation_images: np.ndarray | None = None,
) -> tuple[keras.Model, keras.Model, History]:
    """Train an autoencoder on ``images`` (N, H, W)[, 3] in [0, 1]; return ``(autoencoder, encoder, history)``.

    Seeds Python, NumPy and Keras with ``seed`` (``keras.utils.set_random_seed``) before
    building the model, so the same call gives the same weights; builds and compiles it
    with ``new_autoencoder`` and trains it with ``train``. The encoder maps images to
    codes (N, code_size). ``validation_images`` (M, H, W[, 3]) adds ``val_loss`` to the history.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[3] != 3):
        raise ValueError(f"images of shape {images.shape}: expected (N, H, W) or (N, H, W, 3)")
    keras.utils.set_random_seed(seed)
    autoencoder = new_autoencoder(
        architecture,
        image_shape=images.shape[1:],
        code_size=code_size,
        optimizer=optimizer,
        learning_rate=learning_rate,
        loss=loss,
        xla=xla,
    )
    history = train(
        autoencoder, images, epochs=epochs, batch_size=batch_size, seed=seed, validation_images=validation_images
    )
    return autoencoder, encoders.encoder_of(autoencoder), history


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order (a permutation of ``n`` indices) in which epoch ``epoch`` visits the images.

    Drawing each epoch's order from ``(seed, epoch)`` alone lets a resumed run see
    exactly the batches an uninterrupted one would.
    """
    return np.random.default_rng([seed, epoch]).permutation(n)


def _fit_data(
    images: np.ndarray, targets: np.ndarray, batch_size: int, validation: tuple[np.ndarray, np.ndarray] | None = None
) -> dict[str, Any]:
    """Keras ``fit`` arguments that feed ``images`` (N, H, W[, 3]) and their ``targets`` in order.

    ``validation``, an ``(images, targets)`` pair or None, is measured after the epoch.
    On TensorFlow, tf.data pipelines with autotuning off: the helper threads of the
    pipeline Keras builds from arrays compete with training for the cores, which made
    every other epoch 60% slower on 2 cores. Other backends take the arrays.
    """
    if keras.backend.backend() != "tensorflow":
        return {
            "x": images,
            "y": targets,
            "batch_size": batch_size,
            "validation_data": validation,
            "validation_batch_size": batch_size,
        }
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    options.threading.private_threadpool_size = 1

    def batches(pair: tuple[np.ndarray, np.ndarray]) -> Any:
        return tf.data.Dataset.from_tensor_slices(pair).batch(batch_size).with_options(options)

    return {"x": batches((images, targets)), "validation_data": None if validation is None else batches(validation)}


def train(
    model: keras.Model,
    images: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    targets: np.ndarray | None = None,
    validation_images: np.ndarray | None = None,
    start: int = 0,
    history: History | None = None,
    after_epoch: Callable[[int, History], None] | None = None,
) -> History:
    """Fit ``model`` to map ``images`` (N, H, W[, 3]) to ``targets`` (None: the images); return the history.

    Runs epochs ``start`` to ``epochs - 1`` (a resumed run passes the ``start`` and
    ``history`` of its checkpoint) and calls ``after_epoch(epochs_done, history)``
    after each. ``validation_images`` (autoencoders only) measures a validation loss; it never
    changes weights. History maps ``loss`` (and ``val_loss``) to one value per epoch. A loss
    that is not finite raises TrainingDiverged.
    """
    history = {key: list(values) for key, values in (history or {}).items()}
    log.info(
        "training on %d images, epochs %d to %d, batch %d, with Keras on %s",
        len(images),
        start + 1,
        epochs,
        batch_size,
        keras.backend.backend(),
    )
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
