"""Your own arrays: a local .npz (``npz_file`` source) checked against the dataset contract.

The contract: ``x_train`` (N, H, W) or (N, H, W, 3) and ``x_test`` (M, ...) of uint8, 8 <= H, W <= 256;
labelled datasets also hold ``y_train`` (N,) and ``y_test`` (M,) of integer class ids from 0.
"""

from pathlib import Path

import numpy as np

from digitclust.datasets.idx import SourceError
from digitclust.errors import PipelineError
from digitclust.pipeline import storage

MIN_SIDE, MAX_SIDE = 8, 256
KEYS = ("x_train", "y_train", "x_test", "y_test")


def check_images(images, name):
    """SourceError unless ``images`` is uint8 (N >= 1, H, W) or (N, H, W, 3) with sides in MIN_SIDE..MAX_SIDE."""
    if images.dtype != np.uint8:
        raise SourceError(f"{name}: images of dtype {images.dtype}, expected uint8")
    grey_or_rgb = images.ndim == 3 or (images.ndim == 4 and images.shape[3] in (1, 3))
    if not grey_or_rgb or not all(MIN_SIDE <= side <= MAX_SIDE for side in images.shape[1:3]):
        raise SourceError(
            f"{name}: images of shape {images.shape}, expected (N, H, W) or (N, H, W, 3)"
            f" with {MIN_SIDE} <= H, W <= {MAX_SIDE}"
        )
    if len(images) == 0:
        raise SourceError(f"{name}: no images (N = 0), expected at least 1")


def check_dataset(arrays, name):
    """Return ``arrays`` (x_*, optional y_* as int64, a (N, H, W, 1) stack as (N, H, W)) if it meets the contract."""
    for key in ("x_train", "x_test"):
        if key not in arrays:
            raise SourceError(f"{name}: no {key}; expected x_train, x_test and optionally both y_train, y_test")
    if ("y_train" in arrays) != ("y_test" in arrays):
        raise SourceError(f"{name}: only one of y_train, y_test; expected both (labelled) or neither")
    checked = {}
    for split in ("train", "test"):
        images = arrays[f"x_{split}"]
        check_images(images, f"{name}: x_{split}")
        checked[f"x_{split}"] = images[..., 0] if images.ndim == 4 and images.shape[3] == 1 else images
        if f"y_{split}" not in arrays:
            continue
        labels = arrays[f"y_{split}"]
        if labels.dtype.kind not in "iu" or labels.ndim != 1:
            raise SourceError(
                f"{name}: y_{split}: labels of dtype {labels.dtype} and shape {labels.shape}, expected (N,) integers"
            )
        if len(labels) != len(images):
            raise SourceError(f"{name}: x_{split} has {len(images)} images but y_{split} {len(labels)} labels")
        if labels.min() < 0:
            raise SourceError(f"{name}: y_{split}: label {int(labels.min())} negative, expected class ids from 0")
        checked[f"y_{split}"] = labels.astype(np.int64)
    if checked["x_train"].shape[1:] != checked["x_test"].shape[1:]:
        raise SourceError(
            f"{name}: x_train images {checked['x_train'].shape[1:]} but x_test {checked['x_test'].shape[1:]}; expected"
            " one shape"
        )
    return checked


def read_npz_file(path):
    """The checked arrays of the local .npz ``path``; never unpickles; SourceError saying what is wrong."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise SourceError(f"{file}: no such file; expected an .npz of x_train, x_test (and y_train, y_test)")
    try:
        storage.check_npz_sizes(file, str(file), limit=4_000_000_000)
        with np.load(file, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in KEYS if key in npz.files}
    except storage.READ_ERRORS as error:
        raise SourceError(f"{file}: not a readable .npz of arrays ({storage.read_error_reason(error)})") from None
    except PipelineError as error:  # check_npz_sizes: an entry whose header lies
        raise SourceError(str(error)) from None
    return check_dataset(arrays, str(file))
