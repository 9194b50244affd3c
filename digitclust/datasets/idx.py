"""The four IDX files of an MNIST-format dataset: parse them and verify them by SHA-256."""

import hashlib

import numpy as np

from digitclust.errors import PipelineError

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}
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


def verify(raw, filename, dataset):
    """Return ``raw`` if its SHA-256 is the one expected of ``filename`` in ``dataset``; else SourceError."""
    expected = SHA256[dataset][filename]
    if sha256(raw) != expected:
        raise SourceError(f"{filename}: SHA-256 {sha256(raw)[:12]}… differs from the expected {expected[:12]}…")
    return raw


def arrays_from_idx(files, dataset):
    """Decode and verify ``{filename: raw bytes}`` of the four IDX files into named arrays.

    Each file is parsed before its checksum is checked, so a damaged file is
    reported by what is wrong with it (truncated, wrong magic number) where possible.
    """
    arrays = {key: parse_idx(files[name], name) for key, name in IDX_FILES.items()}
    for name in IDX_FILES.values():
        verify(files[name], name, dataset)
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
