"""Bad own data (image_dir, npz_file) and sizes above a split end the fetch stage in one line, outputs unchanged."""

import numpy as np
import pytest
from PIL import Image
from test_bad_input import run_stage_briefly, snapshot

from helpers import stage_folder


def images(folder, count, *, mode="L", size=(12, 12)):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new(mode, size).save(folder / f"{i:03}.png")


def npz(folder, **arrays):
    folder.mkdir(parents=True, exist_ok=True)
    good = {"x_train": np.zeros((4, 10, 10), "u1"), "x_test": np.zeros((2, 10, 10), "u1")}
    np.savez(folder / "own.npz", **{key: value for key, value in (good | arrays).items() if value is not None})
    return folder / "own.npz"


def truncated(folder):
    images(folder, 1, size=(64, 64))
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "001.png")
    raw = (folder / "001.png").read_bytes()
    (folder / "001.png").write_bytes(raw[: len(raw) // 2])
    return folder


def mixed(folder, **second):
    images(folder, 2)
    images(folder / "x", 1, **second)
    (folder / "x" / "000.png").rename(folder / "002.png")
    (folder / "x").rmdir()
    return folder


def unpickled(folder):
    folder.mkdir(parents=True)
    np.savez(folder / "own.npz", x_train=np.array([{"a": 1}], dtype=object), x_test=np.zeros((2, 10, 10), "u1"))
    return folder / "own.npz"


def empty(folder):
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("no images")
    return folder


def one_per_class(folder):
    images(folder / "a", 3)
    images(folder / "b", 1)
    return folder


CASES = {
    "npz missing x_test": ("npz_file", lambda f: npz(f, x_test=None), "own.npz: no x_test; expected x_train, x_test"),
    "npz not uint8": (
        "npz_file",
        lambda f: npz(f, x_train=np.zeros((4, 10, 10), "f4")),
        "own.npz: x_train: images of dtype float32, expected uint8",
    ),
    "npz side too small": (
        "npz_file",
        lambda f: npz(f, x_train=np.zeros((4, 4, 10), "u1")),
        "own.npz: x_train: images of shape (4, 4, 10), expected (N, H, W) or (N, H, W, 3) with 8 <= H, W <= 256",
    ),
    "npz two channels": (
        "npz_file",
        lambda f: npz(f, x_test=np.zeros((2, 10, 10, 2), "u1")),
        "own.npz: x_test: images of shape (2, 10, 10, 2), expected",
    ),
    "npz float labels": (
        "npz_file",
        lambda f: npz(f, y_train=np.zeros(4, "f8"), y_test=np.zeros(2, "i8")),
        "own.npz: y_train: labels of dtype float64 and shape (4,), expected (N,) integers",
    ),
    "npz negative labels": (
        "npz_file",
        lambda f: npz(f, y_train=np.array([0, 1, -1, 0]), y_test=np.zeros(2, "i8")),
        "own.npz: y_train: label -1 negative, expected class ids from 0",
    ),
    "npz lengths differ": (
        "npz_file",
        lambda f: npz(f, y_train=np.zeros(3, "i8"), y_test=np.zeros(2, "i8")),
        "own.npz: x_train has 4 images but y_train 3 labels",
    ),
    "npz one y": (
        "npz_file",
        lambda f: npz(f, y_train=np.zeros(4, "i8")),
        "own.npz: only one of y_train, y_test",
    ),
    "npz pickled": ("npz_file", unpickled, "own.npz: not a readable .npz of arrays (it holds pickled objects"),
    "truncated image": ("image_dir", truncated, "001.png: not a readable image ("),
    "unreadable image": (
        "image_dir",
        lambda f: (images(f, 2), (f / "001.png").write_bytes(b"junk"), f)[-1],
        "001.png: not a readable image (",
    ),
    "mixed sizes": ("image_dir", lambda f: mixed(f, size=(12, 14)), ": 000.png is 12x12 grey but 002.png 12x14 grey"),
    "mixed channels": ("image_dir", lambda f: mixed(f, mode="RGB"), ": 000.png is 12x12 grey but 002.png 12x12 rgb"),
    "empty folder": ("image_dir", empty, ": no .png/.jpg images; expected images or one subfolder per class"),
    "one image in a class": ("image_dir", one_per_class, "/b: 1 image(s); expected at least 2 per class"),
    "side too large": (
        "image_dir",
        lambda f: (images(f, 2, size=(300, 12)), f)[-1],
        "000.png: 300x12; expected sides from 8 to 256 pixels",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_own_data_stops_fetch_in_one_line(tmp_path, case):
    kind, make, message = CASES[case]
    path = make(tmp_path / "in")
    folder = stage_folder(
        tmp_path / "stage",
        {"data.dataset": "own", "data.datasets.own": {"sources": [{"kind": kind, "path": str(path)}]}},
    )
    (folder / "data").mkdir()
    (folder / "data" / "dataset.npz").write_bytes(b"old")
    before = snapshot(folder)
    result = run_stage_briefly(folder, "fetch", "data/dataset.npz")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    *log, error = result.stderr.splitlines()
    assert error.startswith(f"error: no source delivered own: {kind} {path}: "), error
    assert message in error, error
    assert snapshot(folder) == before


def test_a_size_above_the_split_is_refused_naming_both(tmp_path):
    path = npz(tmp_path / "in", x_train=np.zeros((20, 10, 10), "u1"))
    folder = stage_folder(
        tmp_path / "stage",
        {
            "data.dataset": "own",
            "data.train_size": 30,
            "data.datasets.own": {"sources": [{"kind": "npz_file", "path": str(path)}]},
        },
    )
    result = run_stage_briefly(folder, "fetch", "data/dataset.npz")
    assert result.returncode == 1, result.stderr
    assert (
        result.stderr.splitlines()[-1] == "error: params.yaml: data.train_size = 30: above the 20 train images of own"
    )
    assert not (folder / "data" / "dataset.npz").exists()


@pytest.mark.parametrize("labelled", [True, False])
def test_fetch_writes_own_images_and_labels(tmp_path, labelled):
    images(tmp_path / "in" / "a", 3)
    images(tmp_path / "in" / "b", 3)
    path = tmp_path / "in" / ("." if labelled else "a")
    folder = stage_folder(
        tmp_path / "stage",
        {
            "data.dataset": "own",
            "data.datasets.own": {"sources": [{"kind": "image_dir", "path": str(path), "test_fraction": 0.4}]},
        },
    )
    result = run_stage_briefly(folder, "fetch", "data/dataset.npz")
    assert result.returncode == 0, result.stderr
    with np.load(folder / "data" / "dataset.npz") as written:
        assert set(written.files) == (
            {"x_train", "x_test", "y_train", "y_test", "classes"} if labelled else {"x_train", "x_test"}
        )
