"""Image transforms: deskewing by second moments, with bilinear resampling; random augmentation with Keras' layers."""

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

# ITU-R BT.601's weights of red, green and blue in the luminance, whose moments deskew a colour image.
LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def deskew(images: np.ndarray, *, chunk: int = 8192) -> np.ndarray:
    """Straighten and centre each image by its second moments (float32 (N, H, W) or (N, H, W, 3) in, same out).

    Each image is sheared so that its ink has no row-column correlation and shifted
    so that its centre of mass lies at the image centre, then resampled bilinearly
    (zeros outside). This is the classic unsupervised MNIST preprocessing that
    removes the slant a writer gives a digit; it uses no labels. A colour image is
    moved by the moments of its luminance (``LUMINANCE``), every channel alike.
    """
    images = np.asarray(images, dtype=np.float32)
    chunks = [images[i : i + chunk] for i in range(0, len(images), chunk)]
    with ThreadPoolExecutor(os.cpu_count()) as pool:  # NumPy releases the GIL: one chunk per core
        return np.concatenate(list(pool.map(_deskew_chunk, chunks)) or [images])


def _deskew_chunk(images: np.ndarray) -> np.ndarray:
    """Deskew one chunk (N, H, W) or (N, H, W, 3) of float32 images; see ``deskew``."""
    if images.ndim == 3:
        return _bilinear(images, *_deskewed_positions(images))
    positions = _deskewed_positions(images @ LUMINANCE)
    return np.stack([_bilinear(images[..., c], *positions) for c in range(images.shape[3])], axis=-1)


def _deskewed_positions(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each output pixel of the deskewed ``images`` (N, H, W) samples the input: rows and columns (N, H, W)."""
    _, height, width = images.shape
    rows, cols = np.mgrid[:height, :width].astype(np.float32)
    mass = images.sum(axis=(1, 2))
    empty = mass == 0
    mass[empty] = 1.0
    mean_row = (images * rows).sum(axis=(1, 2)) / mass
    mean_col = (images * cols).sum(axis=(1, 2)) / mass
    centred_rows = rows - mean_row[:, None, None]
    var_row = (images * centred_rows**2).sum(axis=(1, 2)) / mass
    cov = (images * centred_rows * (cols - mean_col[:, None, None])).sum(axis=(1, 2)) / mass
    shear = np.divide(cov, var_row, out=np.zeros_like(cov), where=var_row > 0)
    mean_row[empty], mean_col[empty] = height / 2, width / 2
    # output pixel (i, j) samples the input at (i + dr, j + shear * (i - H/2) + dc)
    source_rows = rows + (mean_row - height / 2)[:, None, None]
    source_cols = cols + shear[:, None, None] * (rows - height / 2) + (mean_col - width / 2)[:, None, None]
    return source_rows, source_cols


def _bilinear(images: np.ndarray, source_rows: np.ndarray, source_cols: np.ndarray) -> np.ndarray:
    """Sample ``images`` (N, H, W) at fractional (N, H, W) positions; zero outside the image."""
    n, height, width = images.shape
    top, left = np.floor(source_rows), np.floor(source_cols)
    row_weight, col_weight = source_rows - top, source_cols - left
    top, left = top.astype(np.int64), left.astype(np.int64)
    index = np.arange(n)[:, None, None]
    result = np.zeros_like(images)
    for d_row, w_row in ((0, 1 - row_weight), (1, row_weight)):
        for d_col, w_col in ((0, 1 - col_weight), (1, col_weight)):
            r, c = top + d_row, left + d_col
            inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
            values = images[index, np.clip(r, 0, height - 1), np.clip(c, 0, width - 1)]
            result += np.where(inside, values, 0) * w_row * w_col
    return result


def augmentation(*, rotation: float, translation: float, zoom: float, seed: int) -> Any:
    """Keras' random rotation, translation and zoom layers, in that order, as one model on (N, H, W, C) batches.

    ``rotation`` is a fraction of a full turn, ``translation`` of the image's height and
    width, ``zoom`` of its size, each drawn uniformly either way per image; pixels moved
    in from outside are 0. Active only in training; each layer draws from its own seed.
    """
    import keras

    layers = keras.layers
    return keras.Sequential(
        [
            layers.RandomRotation(rotation, fill_mode="constant", seed=seed),
            layers.RandomTranslation(translation, translation, fill_mode="constant", seed=seed + 1),
            layers.RandomZoom(zoom, fill_mode="constant", seed=seed + 2),
        ],
        name="augmentation",
    )
