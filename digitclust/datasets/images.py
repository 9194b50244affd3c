"""Your own images: a folder of .png/.jpg files (``image_dir`` source) decoded with Pillow into the dataset arrays.

Layouts: ``<path>/train/`` and ``<path>/test/`` are the splits when both exist; otherwise ``<path>`` is split by a
seeded shuffle (stratified per class when labelled). A split folder holds the images themselves (unlabelled) or one
subfolder per class (labels: the index of the sorted subfolder names). Modes L, 1, I;16, LA become grey (N, H, W);
RGB, RGBA, P, CMYK become RGB (N, H, W, 3). I;16 is scaled to 8 bits.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from digitclust.datasets.arrays import MAX_SIDE, MIN_SIDE, check_dataset
from digitclust.datasets.idx import SourceError

SUFFIXES = {".png", ".jpg", ".jpeg"}
GREY_MODES = {"L", "1", "I;16", "LA"}


def _files(folder):
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def _header(path):
    """(width, height, 'grey' or 'rgb') of the image ``path`` from its header; SourceError if unreadable."""
    try:
        with Image.open(path) as image:
            return image.size, "grey" if image.mode in GREY_MODES else "rgb"
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise SourceError(f"{path}: not a readable image ({error}); expected a .png or .jpg") from None


def _decode(path, kind):
    try:
        with Image.open(path) as image:
            if image.mode == "I;16":
                return (np.asarray(image, dtype=np.uint16) >> 8).astype(np.uint8)
            return np.asarray(image.convert("L" if kind == "grey" else "RGB"), dtype=np.uint8)
    except (OSError, ValueError) as error:
        raise SourceError(f"{path}: not a readable image ({error}); expected a .png or .jpg") from None


def _load(paths, folder):
    """(N, H, W) or (N, H, W, 3) uint8 of ``paths``; headers are all checked before any image is decoded."""
    headers = [_header(path) for path in paths]
    for path, header in zip(paths, headers, strict=True):
        if header != headers[0]:
            raise SourceError(
                f"{folder}: {paths[0].name} is {headers[0][0][0]}x{headers[0][0][1]} {headers[0][1]} but {path.name}"
                f" {header[0][0]}x{header[0][1]} {header[1]}; expected one size and one of grey or colour"
            )
    (width, height), kind = headers[0]
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise SourceError(f"{paths[0]}: {width}x{height}; expected sides from {MIN_SIDE} to {MAX_SIDE} pixels")
    return np.stack([_decode(path, kind) for path in paths])


def _scan(folder):
    """(paths, labels or None, class names or None) of a split folder: images directly or one subfolder per class."""
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        paths = _files(folder)
        if not paths:
            raise SourceError(f"{folder}: no .png/.jpg images; expected images or one subfolder per class")
        return paths, None, None
    paths, labels = [], []
    for label, name in enumerate(classes):
        found = _files(folder / name)
        if len(found) < 2:
            raise SourceError(f"{folder / name}: {len(found)} image(s); expected at least 2 per class")
        paths += found
        labels += [label] * len(found)
    return paths, np.array(labels, dtype=np.int64), classes


def _split(labels, n, test_fraction, seed):
    """Boolean test mask over ``n`` items: a seeded shuffle, ``test_fraction`` of each class (at least 1) to test."""
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    test = np.zeros(n, dtype=bool)
    for group in groups:
        shuffled = rng.permutation(group)
        count = min(max(1, round(len(group) * test_fraction)), len(group) - 1)
        test[shuffled[:count]] = True
    return test


def read_image_dir(path, *, test_fraction, seed):
    """The dataset arrays of the image folder ``path`` (see the module's layouts); SourceError on bad input."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise SourceError(f"{root}: no such folder; expected a folder of images, class subfolders or train/ and test/")
    if (root / "train").is_dir() and (root / "test").is_dir():
        scanned = {split: _scan(root / split) for split in ("train", "test")}
        if scanned["train"][2] != scanned["test"][2]:
            raise SourceError(f"{root}: train/ and test/ hold different class folders; expected the same")
        arrays, classes = {}, scanned["train"][2]
        for split, (paths, labels, _) in scanned.items():
            arrays[f"x_{split}"] = _load(paths, root / split)
            if labels is not None:
                arrays[f"y_{split}"] = labels
    else:
        paths, labels, classes = _scan(root)
        if len(paths) < 2:
            raise SourceError(f"{root}: 1 image; expected at least 2 to split into train and test")
        images = _load(paths, root)
        test = _split(labels, len(paths), test_fraction, seed)
        arrays = {"x_train": images[~test], "x_test": images[test]}
        if labels is not None:
            arrays |= {"y_train": labels[~test], "y_test": labels[test]}
    checked = check_dataset(arrays, str(root))
    if classes is not None:
        checked["classes"] = np.array(classes, dtype=str)
    return checked
