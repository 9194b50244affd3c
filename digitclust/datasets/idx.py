"""The four IDX files of an MNIST-format dataset: parse them and verify them by SHA-256.

The checksums are declared with each dataset in params.yaml (``data.datasets.<name>.sha256``).
"""

import hashlib
import math

import numpy as np

from digitclust.errors import PipelineError

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
# Keras' single-file MNIST, as the npz_url source serves it; its checksum is declared beside the IDX files'.
NPZ_FILE = "mnist.npz"
N_CLASSES = 10
IMAGE_SHAPE = (28, 28)
_IDX_UBYTE = 0x08


class SourceError(PipelineError):
    """One source could not deliver the dataset; the message says why."""


def sha256(raw):
    return hashlib.sha256(raw).hexdigest()


def parse_idx(raw, name="IDX file", *, ndim=None):
    """Decode an unsigned-byte IDX file into an array of the shape its header states (a view of ``raw``).

    Raises SourceError for a wrong magic number, a header of other than ``ndim`` dimensions (when
    given) or a size that disagrees with the header; the size is computed exactly, so no
    dimensions overflow, and nothing is allocated.
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _IDX_UBYTE:
        raise SourceError(f"{name}: not an unsigned-byte IDX file (magic number {raw[:4].hex() or 'missing'})")
    if ndim is not None and raw[3] != ndim:
        raise SourceError(f"{name}: header of {raw[3]} dimensions, expected {ndim}")
    header = 4 + 4 * raw[3]
    if len(raw) < header:
        raise SourceError(f"{name}: header truncated ({len(raw)} bytes, {raw[3]}-D header needs {header})")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=raw[3], offset=4))
    expected = header + math.prod(shape)  # Python's integers: dimensions of 2**32 - 1 do not overflow
    if len(raw) != expected:
        raise SourceError(f"{name}: {len(raw)} bytes but header {shape} needs {expected}")
    try:
        return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)
    except ValueError:  # a dimension of 0 beside ones whose product numpy cannot hold
        raise SourceError(f"{name}: header {shape} states no array numpy can hold") from None


def verify(raw, filename, checksums):
    """Return ``raw`` if its SHA-256 is ``checksums[filename]`` (lowercase hex); else SourceError."""
    expected = checksums[filename]
    if sha256(raw) != expected:
        raise SourceError(f"{filename}: SHA-256 {sha256(raw)[:12]}… differs from the expected {expected[:12]}…")
    return raw


def arrays_from_idx(files, checksums):
    """Decode and verify ``{filename: raw bytes}`` of the four IDX files (against ``checksums``) into named arrays.

    Each file is parsed before its checksum is checked, so a damaged file is
    reported by what is wrong with it (truncated, wrong magic number) where possible.
    """
    arrays = {
        key: parse_idx(files[name], name, ndim=3 if key.startswith("x") else 1) for key, name in IDX_FILES.items()
    }
    for name in IDX_FILES.values():
        verify(files[name], name, checksums)
    return check_arrays(arrays)


def check_arrays(arrays, *, names=None):
    """Return a dataset's four arrays, the labels as uint8, if they are what the pipeline reads; else SourceError.

    ``arrays`` must hold ``x_train`` (N, 28, 28) and ``x_test`` (M, 28, 28) of uint8 images and
    ``y_train`` (N,) and ``y_test`` (M,) of integer labels from 0 to 9, with N, M >= 1. A message
    names an array by ``names[key]`` (default: its IDX file, ``IDX_FILES``), e.g. ``mnist.npz: x_train``
    for an .npz source. Reads the labels once; allocates nothing else.
    """
    names = names or IDX_FILES
    for key in IDX_FILES:
        if not isinstance(arrays.get(key), np.ndarray):
            raise SourceError(f"{names[key]}: missing; expected the arrays {', '.join(IDX_FILES)}")
    checked = dict(arrays)
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        images_name, labels_name = names[f"x_{split}"], names[f"y_{split}"]
        if images.dtype != np.uint8:
            raise SourceError(f"{images_name}: images of dtype {images.dtype}, expected uint8")
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise SourceError(f"{images_name}: images of shape {images.shape}, expected (N, 28, 28)")
        if len(images) == 0:
            raise SourceError(f"{images_name}: no images (N = 0), expected at least 1")
        if labels.dtype.kind not in "iu" or labels.ndim != 1:
            raise SourceError(
                f"{labels_name}: labels of dtype {labels.dtype} and shape {labels.shape}, expected (N,) integers"
            )
        if len(labels) != len(images):
            raise SourceError(f"{images_name} has {len(images)} images but {labels_name} {len(labels)} labels")
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= N_CLASSES:
            raise SourceError(f"{labels_name}: label {low if low < 0 else high} outside 0..{N_CLASSES - 1}")
        checked[f"y_{split}"] = labels.astype(np.uint8, copy=False)
    return checked
