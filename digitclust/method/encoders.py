"""Autoencoder architectures, registered by name: each compresses (N, *image_shape) images to (N, code_size) codes.

Every architecture takes images in [0, 1] of the data's shape, (H, W) grey or (H, W, 3) colour,
and reconstructs them (the widths below are MNIST's, 28 x 28 = 784 pixels):

- ``dense``: pixels-500-500-2000-d as in DEC and N2D, mirrored in the decoder;
- ``conv``: the original notebook's conv(16), pooled by 4, + dense 784-392-196-d (the first width is
  16 x the pooled pixels; a side not divisible by 4 is padded with zeros, and the decoder crops it back).

To add one, write a function that builds its layers and one that counts its size, and
``register`` them below: ``autoencoder.architecture`` in params.yaml then accepts its name,
and the memory check counts it (docs/extending.md). Importing this module does not import
Keras, so that params can be checked against the registry before any heavy import.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DENSE_HIDDEN = (500, 500, 2000)
CONV_HIDDEN = (392, 196)
CONV_FILTERS = 16
CONV_POOL = 4  # 28x28x16 pooled by 4 gives 7x7x16 = 784 features

Shape = tuple[int, ...]  # one image's: (H, W) grey or (H, W, 3) colour


@dataclass(frozen=True)
class Architecture:
    """An autoencoder architecture.

    ``layers(code_size, image_shape)`` returns the Keras tensors ``(encoder_input, code, decoder_input,
    reconstruction)``; ``size(code_size, image_shape)`` returns ``(weights, activations)``: its number of
    parameters and of layer outputs per image, which the memory check multiplies out.
    """

    layers: Callable[[int, Shape], tuple[Any, Any, Any, Any]]
    size: Callable[[int, Shape], tuple[int, int]]
    description: str


ARCHITECTURES: dict[str, Architecture] = {}


def register(
    name: str,
    *,
    layers: Callable[[int, Shape], tuple[Any, Any, Any, Any]],
    size: Callable[[int, Shape], tuple[int, int]],
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


def pixels(image_shape: Shape) -> int:
    """The numbers in one image of ``image_shape``: H x W (x 3)."""
    return math.prod(image_shape)


def channels(image_shape: Shape) -> int:
    """1 for grey (H, W), 3 for colour (H, W, 3)."""
    return image_shape[2] if len(image_shape) == 3 else 1


def dense_layers(code_size: int, image_shape: Shape) -> tuple[Any, Any, Any, Any]:
    """pixels-500-500-2000-``code_size``, mirrored."""
    import keras

    layers = keras.layers
    encoder_input = keras.Input(image_shape, name="image")
    x = layers.Flatten(name="flatten")(encoder_input)
    x = _dense_stack(x, DENSE_HIDDEN, "encode")
    code = layers.Dense(code_size, name="code")(x)
    decoder_input = keras.Input((code_size,), name="code_input")
    y = _dense_stack(decoder_input, DENSE_HIDDEN[::-1], "decode")
    y = layers.Dense(pixels(image_shape), activation="sigmoid", name="pixels")(y)
    reconstruction = layers.Reshape(image_shape, name="reconstruction")(y)
    return encoder_input, code, decoder_input, reconstruction


def dense_size(code_size: int, image_shape: Shape) -> tuple[int, int]:
    widths = (pixels(image_shape), *DENSE_HIDDEN, code_size, *DENSE_HIDDEN[::-1], pixels(image_shape))
    return _dense_weights(widths), sum(widths)


def _conv_padding(image_shape: Shape) -> tuple[int, int]:
    """The zero rows and columns that make the height and width multiples of CONV_POOL."""
    return -image_shape[0] % CONV_POOL, -image_shape[1] % CONV_POOL


def _conv_pooled(image_shape: Shape) -> tuple[int, int, int]:
    """The shape of the encoder's pooled maps: the padded height and width over CONV_POOL, CONV_FILTERS."""
    pad_rows, pad_columns = _conv_padding(image_shape)
    return (image_shape[0] + pad_rows) // CONV_POOL, (image_shape[1] + pad_columns) // CONV_POOL, CONV_FILTERS


def conv_layers(code_size: int, image_shape: Shape) -> tuple[Any, Any, Any, Any]:
    """conv(16), pooled by 4, then 16 x pooled pixels-392-196-``code_size``; mirrored with upsampling."""
    import keras

    layers = keras.layers
    pooled = _conv_pooled(image_shape)
    pad_rows, pad_columns = _conv_padding(image_shape)
    padding, padded = ((0, pad_rows), (0, pad_columns)), bool(pad_rows or pad_columns)
    encoder_input = keras.Input(image_shape, name="image")
    x = encoder_input
    if len(image_shape) == 2:
        x = layers.Reshape((*image_shape, 1), name="channel")(x)
    x = layers.Conv2D(CONV_FILTERS, 3, padding="same", activation="relu", name="conv")(x)
    if padded:
        x = layers.ZeroPadding2D(padding, name="pad")(x)
    x = layers.MaxPooling2D(CONV_POOL, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = _dense_stack(x, CONV_HIDDEN, "encode")
    code = layers.Dense(code_size, name="code")(x)
    decoder_input = keras.Input((code_size,), name="code_input")
    y = _dense_stack(decoder_input, (*CONV_HIDDEN[::-1], math.prod(pooled)), "decode")
    y = layers.Reshape(pooled, name="unflatten")(y)
    y = layers.UpSampling2D(CONV_POOL, name="unpool")(y)
    if padded:
        y = layers.Cropping2D(padding, name="crop")(y)
    y = layers.Conv2D(channels(image_shape), 3, padding="same", activation="sigmoid", name="deconv")(y)
    reconstruction = layers.Reshape(image_shape, name="reconstruction")(y)
    return encoder_input, code, decoder_input, reconstruction


def conv_size(code_size: int, image_shape: Shape) -> tuple[int, int]:
    pooled, c = math.prod(_conv_pooled(image_shape)), channels(image_shape)
    widths = (pooled, *CONV_HIDDEN, code_size, *CONV_HIDDEN[::-1], pooled)
    kernels = (9 * c + 1) * CONV_FILTERS + (9 * CONV_FILTERS + 1) * c  # 3x3 conv to 16 maps and back to c
    maps = 2 * pooled * CONV_POOL**2  # the encoder's 16 (padded) feature maps and the decoder's upsampled ones
    return _dense_weights(widths) + kernels, sum(widths) + maps + 2 * pixels(image_shape)


register("dense", layers=dense_layers, size=dense_size, description="784-500-500-2000-d, as in DEC and N2D")
register("conv", layers=conv_layers, size=conv_size, description="conv16 + 784-392-196-d, the original notebook's")


def build_autoencoder(architecture: str, *, code_size: int, image_shape: Shape) -> tuple[Any, Any]:
    """Return ``(autoencoder, encoder)`` of a registered ``architecture``; the encoder shares its weights.

    The autoencoder maps images (N, *image_shape) to reconstructions (N, *image_shape), the encoder
    images to codes (N, code_size); ``image_shape`` is (H, W) grey or (H, W, 3) colour.
    """
    import keras

    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture {architecture!r}: expected one of {', '.join(ARCHITECTURES)}")
    encoder_input, code, decoder_input, reconstruction = ARCHITECTURES[architecture].layers(
        code_size, tuple(image_shape)
    )
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
