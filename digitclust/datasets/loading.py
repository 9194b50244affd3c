"""Load the fetched dataset and the autoencoder's inputs from the .npz files the stages write."""

import numpy as np

from digitclust.errors import PipelineError
from digitclust.pipeline import storage

IMAGE_SHAPE = (28, 28)


def load_images(path, split):
    """Load one split of the fetched .npz as float32 in [0, 1] and its labels.

    Returns ``(images, labels)`` of shapes (N, 28, 28) and (N,).
    """
    arrays = storage.load_npz(path, [f"x_{split}", f"y_{split}"])
    images, labels = _checked_images(arrays[f"x_{split}"], path), load_labels(path)[split]
    if len(images) != len(labels):
        raise PipelineError(f"{path}: {len(images)} {split} images but {len(labels)} labels")
    return images.astype(np.float32) / np.float32(255), labels


def load_labels(path):
    """The labels of both splits of the fetched .npz: ``{"train": (N,), "test": (M,)}``."""
    arrays = storage.load_npz(path, ["y_train", "y_test"])
    return {split: arrays[f"y_{split}"] for split in ("train", "test")}


def load_inputs(path, split):
    """Load one split (N, 28, 28) of the autoencoder's inputs written by the preprocess stage."""
    return _checked_images(storage.load_npz(path, [f"x_{split}"])[f"x_{split}"], path)


def _checked_images(images, path):
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise PipelineError(f"{path}: images of shape {images.shape}, expected (N, 28, 28)")
    return images
