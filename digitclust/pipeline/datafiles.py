"""The stages' own data files: the fetched dataset (images, labels if any) and the autoencoder's inputs.

Images are (N, H, W) grey or (N, H, W, 3) colour, H and W from 8 to 256; the shape is the data's,
read from the file. Labels (``y_train`` and ``y_test``, class ids 0..C-1) are optional.
"""

import numpy as np

from digitclust.errors import PipelineError
from digitclust.pipeline import storage

SPLITS = ("train", "test")
SIDES = (8, 256)  # the smallest and the largest height or width
CHANNELS = (1, 3)  # grey (N, H, W) or colour (N, H, W, 3)


def load_images(path, split):
    """One split of the fetched .npz as float32 in [0, 1], and its labels (None without labels).

    Returns ``(images, labels)``: (N, H, W) or (N, H, W, 3), and (N,) or None.
    """
    images = _checked_images(storage.load_npz(path, [f"x_{split}"])[f"x_{split}"], path)
    labels = load_labels(path)
    if labels is not None and len(images) != len(labels[split]):
        raise PipelineError(f"{path}: {len(images)} {split} images but {len(labels[split])} labels")
    return images.astype(np.float32) / np.float32(255), None if labels is None else labels[split]


def load_labels(path):
    """The labels of both splits of the fetched .npz, ``{"train": (N,), "test": (M,)}``; None if it has none."""
    arrays = storage.load_npz(path, ["y_train", "y_test"], optional=True)
    if not arrays:
        return None
    if len(arrays) == 1:
        raise PipelineError(f"{path}: holds {next(iter(arrays))} alone; expected y_train and y_test, or neither")
    return {split: arrays[f"y_{split}"] for split in SPLITS}


def count_classes(path, labels):
    """The number of classes of the fetched .npz: its ``classes`` names, else the largest label of ``labels`` + 1."""
    names = storage.load_npz(path, ["classes"], optional=True)
    return len(names["classes"]) if names else int(max(labels[split].max(initial=0) for split in SPLITS)) + 1


def split_sizes(path):
    """The number of images of each split of the fetched .npz, ``{"train": N, "test": M}``."""
    images = storage.load_npz(path, ["x_train", "x_test"])
    return {split: len(images[f"x_{split}"]) for split in SPLITS}


def load_inputs(path, split):
    """Load one split (N, H, W) or (N, H, W, 3) of the autoencoder's inputs written by the preprocess stage."""
    return _checked_images(storage.load_npz(path, [f"x_{split}"])[f"x_{split}"], path)


def _checked_images(images, path):
    low, high = SIDES
    channels = images.shape[3] if images.ndim == 4 else 1
    if (
        images.ndim not in (3, 4)
        or channels not in CHANNELS
        or not all(low <= side <= high for side in images.shape[1:3])
    ):
        raise PipelineError(
            f"{path}: images of shape {images.shape}, expected (N, H, W) or (N, H, W, 3), H and W from {low} to {high}"
        )
    return images
