"""Keras 3 autoencoders that compress (N, 28, 28) images to (N, code_size) codes.

Both architectures take images in [0, 1] of shape (28, 28) and reconstruct them:

- ``dense``: 784-500-500-2000-d as in DEC and N2D, mirrored in the decoder;
- ``conv``: the original notebook's conv(16) + dense 784-392-196-d.
"""

import json
import logging
import shutil
import time
from pathlib import Path

import keras
import numpy as np
from keras import layers

log = logging.getLogger(__name__)

IMAGE_SHAPE = (28, 28)
DENSE_HIDDEN = (500, 500, 2000)
CONV_HIDDEN = (392, 196)
CONV_FILTERS = 16
CONV_POOL = 4  # 28x28x16 pooled by 4 gives 7x7x16 = 784 features


def configure_backend(deterministic_ops=False):
    """On TensorFlow, run ops one at a time and, with ``deterministic_ops``, deterministically.

    Call it before the first op. One op at a time, each on all cores, is faster than
    TensorFlow's default of several at once fighting for a few cores. Keras compiles
    with XLA only when op determinism is off; an XLA-compiled step on a CPU is
    deterministic by itself.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if deterministic_ops:
            tf.config.experimental.enable_op_determinism()
        tf.config.threading.set_inter_op_parallelism_threads(1)


def set_seed(seed, xla):
    """Seed Python, NumPy and the Keras backend; configure it, with op determinism unless ``xla``."""
    keras.utils.set_random_seed(seed)
    configure_backend(deterministic_ops=not xla)


def _dense_stack(x, widths, name):
    for i, width in enumerate(widths):
        x = layers.Dense(width, activation="relu", name=f"{name}_{i}")(x)
    return x


def _dense_layers(code_size):
    encoder_input = keras.Input(IMAGE_SHAPE, name="image")
    x = layers.Flatten(name="flatten")(encoder_input)
    x = _dense_stack(x, DENSE_HIDDEN, "encode")
    code = layers.Dense(code_size, name="code")(x)
    decoder_input = keras.Input((code_size,), name="code_input")
    y = _dense_stack(decoder_input, DENSE_HIDDEN[::-1], "decode")
    y = layers.Dense(IMAGE_SHAPE[0] * IMAGE_SHAPE[1], activation="sigmoid", name="pixels")(y)
    reconstruction = layers.Reshape(IMAGE_SHAPE, name="reconstruction")(y)
    return encoder_input, code, decoder_input, reconstruction


def _conv_layers(code_size):
    pooled = (IMAGE_SHAPE[0] // CONV_POOL, IMAGE_SHAPE[1] // CONV_POOL, CONV_FILTERS)
    encoder_input = keras.Input(IMAGE_SHAPE, name="image")
    x = layers.Reshape((*IMAGE_SHAPE, 1), name="channel")(encoder_input)
    x = layers.Conv2D(CONV_FILTERS, 3, padding="same", activation="relu", name="conv")(x)
    x = layers.MaxPooling2D(CONV_POOL, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = _dense_stack(x, CONV_HIDDEN, "encode")
    code = layers.Dense(code_size, name="code")(x)
    decoder_input = keras.Input((code_size,), name="code_input")
    y = _dense_stack(decoder_input, (*CONV_HIDDEN[::-1], pooled[0] * pooled[1] * pooled[2]), "decode")
    y = layers.Reshape(pooled, name="unflatten")(y)
    y = layers.UpSampling2D(CONV_POOL, name="unpool")(y)
    y = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="deconv")(y)
    reconstruction = layers.Reshape(IMAGE_SHAPE, name="reconstruction")(y)
    return encoder_input, code, decoder_input, reconstruction


ARCHITECTURES = {"dense": _dense_layers, "conv": _conv_layers}


def build_autoencoder(architecture, code_size):
    """Return ``(autoencoder, encoder)``; the encoder shares the autoencoder's weights."""
    encoder_input, code, decoder_input, reconstruction = ARCHITECTURES[architecture](code_size)
    encoder = keras.Model(encoder_input, code, name="encoder")
    decoder = keras.Model(decoder_input, reconstruction, name="decoder")
    autoencoder = keras.Model(encoder_input, decoder(encoder(encoder_input)), name="autoencoder")
    return autoencoder, encoder


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
    log.info("training on %d images, epochs %d to %d, batch %d", len(train_images), start + 1, epochs, batch_size)
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
        if after_epoch is not None:
            after_epoch(epoch + 1, history)
    return history


def save_checkpoint(folder, autoencoder, epochs_done, history, fingerprint):
    """Save the autoencoder (with optimizer state) and its progress into ``folder``, atomically."""
    folder = Path(folder)
    staging = folder.with_name(folder.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    autoencoder.save(staging / "autoencoder.keras")
    state = {"epochs_done": epochs_done, "history": history, "fingerprint": fingerprint}
    (staging / "state.json").write_text(json.dumps(state))
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    log.info("checkpoint saved after epoch %d in %s", epochs_done, folder)


def load_checkpoint(folder, fingerprint):
    """Return ``(autoencoder, epochs_done, history)`` saved in ``folder`` for ``fingerprint``, or None.

    A checkpoint of other params or data (another fingerprint) is never resumed.
    """
    state_file = Path(folder) / "state.json"
    if not state_file.is_file():
        return None
    state = json.loads(state_file.read_text())
    if state["fingerprint"] != fingerprint:
        log.info("ignoring checkpoint in %s: it was made with other params or data", folder)
        return None
    autoencoder = keras.models.load_model(Path(folder) / "autoencoder.keras")
    return autoencoder, state["epochs_done"], state["history"]


def encoder_of(autoencoder):
    """The encoder sub-model inside an autoencoder built by ``build_autoencoder``."""
    return autoencoder.get_layer("encoder")


def decoder_of(autoencoder):
    """The decoder sub-model inside an autoencoder built by ``build_autoencoder``."""
    return autoencoder.get_layer("decoder")


def load(path):
    """Load a model saved by the train stage."""
    return keras.models.load_model(path)


def encode(encoder, images, batch_size):
    """Return the float32 codes (N, code_size) of ``images`` (N, 28, 28)."""
    return encoder.predict(images, batch_size=batch_size, verbose=0).astype("float32")


def decode(decoder, codes, batch_size):
    """Return the images (N, 28, 28) that ``decoder`` makes of ``codes`` (N, code_size)."""
    return decoder.predict(codes, batch_size=batch_size, verbose=0)


def reconstruct(autoencoder, images, batch_size):
    """Return the reconstructions (N, 28, 28) of ``images`` (N, 28, 28)."""
    return autoencoder.predict(images, batch_size=batch_size, verbose=0)
