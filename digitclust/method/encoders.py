"""Autoencoder architectures, registered by name: each compresses (N, 28, 28) images to (N, code_size) codes.

Every architecture takes images in [0, 1] of shape (28, 28) and reconstructs them:

- ``dense``: 784-500-500-2000-d as in DEC and N2D, mirrored in the decoder;
- ``conv``: the original notebook's conv(16) + dense 784-392-196-d.

To add one, write a function that builds its layers and one that counts its size, and
``register`` them below: ``autoencoder.architecture`` in params.yaml then accepts its name,
and the memory check counts it (docs/extending.md). Importing this module does not import
Keras, so that params can be checked against the registry before any heavy import.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

IMAGE_SHAPE = (28, 28)
PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
DENSE_HIDDEN = (500, 500, 2000)
CONV_HIDDEN = (392, 196)
CONV_FILTERS = 16
CONV_POOL = 4  # 28x28x16 pooled by 4 gives 7x7x16 = 784 features
CONV_POOLED = (IMAGE_SHAPE[0] // CONV_POOL) * (IMAGE_SHAPE[1] // CONV_POOL) * CONV_FILTERS


@dataclass(frozen=True)
class Architecture:
    """An autoencoder architecture.

    ``layers(code_size)`` returns the Keras tensors ``(encoder_input, code, decoder_input,
    reconstruction)``; ``size(code_size)`` returns ``(weights, activations)``: its number of
    parameters and of layer outputs per image, which the memory check multiplies out.
    """

    layers: Callable[[int], tuple[Any, Any, Any, Any]]
    size: Callable[[int], tuple[int, int]]
    description: str


ARCHITECTURES: dict[str, Architecture] = {}


def register(
    name: str,
    *,
    layers: Callable[[int], tuple[Any, Any, Any, Any]],
    size: Callable[[int], tuple[int, int]],
    description: str,
) -> None:
    """Make the architecture ``name`` available to ``build_autoencoder`` and to params.yaml."""
    if name in ARCHITECTURES:
        raise ValueError(f"architecture {name!r} is already registered")
    ARCHITECTURES[name] = Architecture(layers, size, description)


def _dense_weights(widths: tuple[int, ...]) -> int:
    """Weights and biases of dense layers of ``widths`` (input first), one after another."""
    return sum((inputs + 1) * outputs for inputs, outputs in zip(widths, widths[1:], strict=False))


def _dense_stack(x: Any, widths: tuple[int, ...], name: str) -> Any:
    import keras

    for i, width in enumerate(widths):
        x = keras.layers.Dense(width, activation="relu", name=f"{name}_{i}")(x)
    return x


def dense_layers(code_size: int) -> tuple[Any, Any, Any, Any]:
    """784-500-500-2000-``code_size``, mirrored."""
    import keras

    layers = keras.layers
    encoder_input = keras.Input(IMAGE_SHAPE, name="image")
    x = layers.Flatten(name="flatten")(encoder_input)
    x = _dense_stack(x, DENSE_HIDDEN, "encode")
    code = layers.Dense(code_size, name="code")(x)
    decoder_input = keras.Input((code_size,), name="code_input")
    y = _dense_stack(decoder_input, DENSE_HIDDEN[::-1], "decode")
    y = layers.Dense(PIXELS, activation="sigmoid", name="pixels")(y)
    reconstruction = layers.Reshape(IMAGE_SHAPE, name="reconstruction")(y)
    return encoder_input, code, decoder_input, reconstruction


def dense_size(code_size: int) -> tuple[int, int]:
    widths = (PIXELS, *DENSE_HIDDEN, code_size, *DENSE_HIDDEN[::-1], PIXELS)
    return _dense_weights(widths), sum(widths)


def conv_layers(code_size: int) -> tuple[Any, Any, Any, Any]:
    """conv(16), pooled by 4, then 784-392-196-``code_size``; mirrored with upsampling."""
    import keras

    layers = keras.layers
    pooled = (IMAGE_SHAPE[0] // CONV_POOL, IMAGE_SHAPE[1] // CONV_POOL, CONV_FILTERS)
    encoder_input = keras.Input(IMAGE_SHAPE, name="image")
    x = layers.Reshape((*IMAGE_SHAPE, 1), name="channel")(encoder_input)
    x = layers.Conv2D(CONV_FILTERS, 3, padding="same", activation="relu", name="conv")(x)
    x = layers.MaxPooling2D(CONV_POOL, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = _dense_stack(x, CONV_HIDDEN, "encode")
    code = layers.Dense(code_size, name="code")(x)
    decoder_input = keras.Input((code_size,), name="code_input")
    y = _dense_stack(decoder_input, (*CONV_HIDDEN[::-1], CONV_POOLED), "decode")
    y = layers.Reshape(pooled, name="unflatten")(y)
    y = layers.UpSampling2D(CONV_POOL, name="unpool")(y)
    y = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="deconv")(y)
    reconstruction = layers.Reshape(IMAGE_SHAPE, name="reconstruction")(y)
    return encoder_input, code, decoder_input, reconstruction


def conv_size(code_size: int) -> tuple[int, int]:
    widths = (CONV_POOLED, *CONV_HIDDEN, code_size, *CONV_HIDDEN[::-1], CONV_POOLED)
    kernels = (9 * 1 + 1) * CONV_FILTERS + (9 * CONV_FILTERS + 1) * 1  # 3x3 conv to 16 maps and back to 1
    maps = 2 * PIXELS * CONV_FILTERS  # the encoder's 16 feature maps and the decoder's upsampled ones
    return _dense_weights(widths) + kernels, sum(widths) + maps + 2 * PIXELS


register("dense", layers=dense_layers, size=dense_size, description="784-500-500-2000-d, as in DEC and N2D")
register("conv", layers=conv_layers, size=conv_size, description="conv16 + 784-392-196-d, the original notebook's")


def build_autoencoder(architecture: str, *, code_size: int) -> tuple[Any, Any]:
    """Return ``(autoencoder, encoder)`` of a registered ``architecture``; the encoder shares its weights.

    The autoencoder maps images (N, 28, 28) to reconstructions (N, 28, 28), the encoder
    images to codes (N, code_size).
    """
    import keras

    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture {architecture!r}: expected one of {', '.join(ARCHITECTURES)}")
    encoder_input, code, decoder_input, reconstruction = ARCHITECTURES[architecture].layers(code_size)
    encoder = keras.Model(encoder_input, code, name="encoder")
    decoder = keras.Model(decoder_input, reconstruction, name="decoder")
    autoencoder = keras.Model(encoder_input, decoder(encoder(encoder_input)), name="autoencoder")
    return autoencoder, encoder


def encoder_of(autoencoder: Any) -> Any:
    """The encoder sub-model inside an autoencoder built by ``build_autoencoder``."""
    return autoencoder.get_layer("encoder")


def decoder_of(autoencoder: Any) -> Any:
    """The decoder sub-model inside an autoencoder built by ``build_autoencoder``."""
    return autoencoder.get_layer("decoder")
