"""How close the autoencoder's training comes to the machine's float32 matrix-product speed.

Training work is counted as the multiply-adds of the Dense and Conv2D layers (the
rest is negligible), two floating-point operations each: the forward pass once; the
backward pass twice (gradients of the weights and of the layer's input), except that
the first layer needs no gradient of the image. Validation images add a forward pass.
"""

import re
import time

import numpy as np

EPOCH_LINE = re.compile(r"epoch \d+/\d+: .*\((\d+(?:\.\d+)?) s\)")


def weighted_layers(model):
    """Dense and Conv2D layers of ``model`` in order, looking inside nested models."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from weighted_layers(layer)
        elif isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            yield layer


def multiply_adds(layer):
    """Multiply-adds of one image through ``layer`` (a Dense or a Conv2D)."""
    kernel = int(np.prod(layer.kernel.shape))
    if len(layer.kernel.shape) == 2:
        return kernel
    height, width = layer.output.shape[1:3]  # a Conv2D: one kernel product per output position
    return kernel * height * width


def training_flops(model, train_images, val_images, epochs):
    """Floating-point operations of ``epochs`` epochs of training plus validation."""
    per_layer = [multiply_adds(layer) for layer in weighted_layers(model)]
    forward = sum(per_layer)
    backward = 2 * forward - per_layer[0]
    return 2 * epochs * (train_images * (forward + backward) + val_images * forward)


def epoch_seconds(train_log):
    """Wall seconds of each epoch, as the train stage logged them."""
    return [float(match) for match in EPOCH_LINE.findall(train_log)]


def matmul_gflops(size=2048, repeats=10):
    """Best float32 matrix-product speed of NumPy here, in GFLOP/s."""
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    best = np.inf
    for _ in range(repeats):
        began = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - began)
    return 2 * size**3 / best / 1e9


def report(encoder_path, decoder_path, train_log, train_images, val_images):
    """Print the training throughput of the saved autoencoder, the matrix-product speed and their ratio."""
    from digitclust.pipeline import quiet, storage

    quiet.import_quietly("keras")
    import keras

    model = keras.Sequential([storage.load_keras(encoder_path), storage.load_keras(decoder_path)])
    seconds = epoch_seconds(train_log)
    achieved = training_flops(model, train_images, val_images, len(seconds)) / sum(seconds) / 1e9
    peak = matmul_gflops()
    print(
        f"  training   {achieved:8.1f} GFLOP/s over {len(seconds)} epochs ({sum(seconds):.0f} s); "
        f"float32 matmul {peak:.1f} GFLOP/s; ratio {achieved / peak:.2f}"
    )
