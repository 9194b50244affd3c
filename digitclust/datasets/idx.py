"""The four IDX files of an MNIST-format dataset: parse them and verify them by SHA-256.

The checksums are declared with each dataset in params.yaml (``data.datasets.<name>.sha256``).
"""

import hashlib

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


def parse_idx(raw, name="IDX file"):
    """Decode an unsigned-byte IDX file into an array of the shape its header states.

    Raises SourceError for a wrong magic number or a size that disagrees with the header.
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _IDX_UBYTE:
        raise SourceError(f"{name}: not an unsigned-byte IDX file (magic number {raw[:4].hex() or 'missing'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise SourceError(f"{name}: header truncated ({len(raw)} bytes, {ndim}-D header needs {header})")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise SourceError(f"{name}: {len(raw)} bytes but header {shape} needs {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


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
    arrays = {key: parse_idx(files[name], name) for key, name in IDX_FILES.items()}
    for name in IDX_FILES.values():
        verify(files[name], name, checksums)
    return check_arrays(arrays)


def check_arrays(arrays):
    """Check shapes (N, 28, 28) and (N,), lengths and label range of the four arrays; return them."""
    for split in ("train", "test"):
        images_file, labels_file = IDX_FILES[f"x_{split}"], IDX_FILES[f"y_{split}"]
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise SourceError(f"{images_file}: images of shape {images.shape}, expected (N, 28, 28)")
        if labels.ndim != 1 or len(labels) != len(images):
            raise SourceError(f"{images_file} has {len(images)} images but {labels_file} {len(labels)} labels")
        if labels.size and labels.max() >= N_CLASSES:
            raise SourceError(f"{labels_file}: label {labels.max()} outside 0..{N_CLASSES - 1}")
    return arrays
