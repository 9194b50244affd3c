"""Your own data: image folders (digitclust.datasets.images) and .npz files (digitclust.datasets.arrays)."""

import numpy as np
import pytest
from PIL import Image

from digitclust.datasets.arrays import read_npz_file
from digitclust.datasets.idx import SourceError
from digitclust.datasets.images import read_image_dir
from digitclust.pipeline import storage


def write_images(folder, count, *, mode="L", size=(12, 10), start=0):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        value = (start + i) * 10 % 256
        Image.new(mode, size, value if mode == "L" else (value, 0, 255 - value)).save(folder / f"{i:03}.png")


def test_a_flat_grey_folder_is_split_unlabelled(tmp_path):
    write_images(tmp_path / "flat", 10)
    arrays = read_image_dir(tmp_path / "flat", test_fraction=0.2, seed=0)
    assert set(arrays) == {"x_train", "x_test"}
    assert arrays["x_train"].shape == (8, 10, 12) and arrays["x_test"].shape == (2, 10, 12)
    assert arrays["x_train"].dtype == np.uint8


def test_an_rgb_image_folder_is_labelled_by_sorted_class_folders_and_split_per_class(tmp_path):
    write_images(tmp_path / "f" / "cat", 5, mode="RGB")
    write_images(tmp_path / "f" / "ant", 5, mode="RGB", start=5)
    arrays = read_image_dir(tmp_path / "f", test_fraction=0.2, seed=0)
    assert arrays["x_train"].shape == (8, 10, 12, 3) and arrays["x_test"].shape == (2, 10, 12, 3)
    assert list(arrays["classes"]) == ["ant", "cat"]
    assert sorted(arrays["y_test"]) == [0, 1] and arrays["y_train"].dtype == np.int64


def test_train_and_test_folders_are_the_splits(tmp_path):
    for split, count in (("train", 4), ("test", 2)):
        write_images(tmp_path / "f" / split / "a", count)
        write_images(tmp_path / "f" / split / "b", count)
    arrays = read_image_dir(tmp_path / "f", test_fraction=0.5, seed=0)
    assert len(arrays["x_train"]) == 8 and len(arrays["x_test"]) == 4
    assert list(arrays["y_test"]) == [0, 0, 1, 1]


def test_the_seeded_split_is_deterministic_and_the_file_byte_identical(tmp_path):
    write_images(tmp_path / "f" / "a", 6)
    write_images(tmp_path / "f" / "b", 6, start=6)
    written = []
    for seed in (3, 3, 4):
        arrays = read_image_dir(tmp_path / "f", test_fraction=0.3, seed=seed)
        storage.save_npz(tmp_path / f"{len(written)}.npz", **arrays)
        written.append((tmp_path / f"{len(written)}.npz").read_bytes())
    assert written[0] == written[1] != written[2]


@pytest.mark.parametrize("labelled", [True, False])
def test_an_npz_file_with_or_without_labels(tmp_path, labelled):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (6, 16, 16, 3), dtype=np.uint8), "x_test": np.zeros((2, 16, 16, 3), "u1")}
    if labelled:
        arrays |= {"y_train": np.array([0, 1, 2, 0, 1, 2], np.int32), "y_test": np.array([1, 0], np.int32)}
    np.savez(tmp_path / "own.npz", **arrays)
    read = read_npz_file(tmp_path / "own.npz")
    assert set(read) == set(arrays)
    np.testing.assert_array_equal(read["x_train"], arrays["x_train"])
    if labelled:
        assert read["y_train"].dtype == np.int64


def test_a_grey_npz_of_one_channel_is_saved_as_n_h_w(tmp_path):
    np.savez(tmp_path / "own.npz", x_train=np.zeros((3, 9, 9, 1), "u1"), x_test=np.zeros((1, 9, 9, 1), "u1"))
    assert read_npz_file(tmp_path / "own.npz")["x_train"].shape == (3, 9, 9)


def test_headers_are_checked_before_decoding(tmp_path):
    write_images(tmp_path / "f", 3)
    (tmp_path / "f" / "zzz.png").write_bytes(b"not a png")
    with pytest.raises(SourceError, match="zzz.png: not a readable image"):
        read_image_dir(tmp_path / "f", test_fraction=0.2, seed=0)
