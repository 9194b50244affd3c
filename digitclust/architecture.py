"""Keras 3 autoencoders that compress (N, 28, 28) images to (N, code_size) codes.

Both architectures take images in [0, 1] of shape (28, 28) and reconstruct them:

- ``dense``: 784-500-500-2000-d as in DEC and N2D, mirrored in the decoder;
- ``conv``: the original notebook's conv(16) + dense 784-392-196-d.
"""

from digitclust.backend import keras
from digitclust.resources import CONV_FILTERS, CONV_HIDDEN, DENSE_HIDDEN  # where the memory check reads them

layers = keras.layers

IMAGE_SHAPE = (28, 28)
CONV_POOL = 4  # 28x28x16 pooled by 4 gives 7x7x16 = 784 features


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


def encoder_of(autoencoder):
    """The encoder sub-model inside an autoencoder built by ``build_autoencoder``."""
    return autoencoder.get_layer("encoder")


def decoder_of(autoencoder):
    """The decoder sub-model inside an autoencoder built by ``build_autoencoder``."""
    return autoencoder.get_layer("decoder")
