"""The refine stage: a CNN trained on cluster ids from augmented images relabels both splits."""

import numpy as np

from digitclust import io
from helpers import OWN_LOG_LINE, run_stage, stage_folder

SMALL = {"refine.epochs": 6, "refine.batch_size": 32}


def bars(n, rng):
    """``n`` images (N, 28, 28) of a vertical or a horizontal bar at a random place, and which (N,) each is."""
    kinds = rng.integers(0, 2, n)
    images = np.zeros((n, 28, 28), np.float32)
    for image, kind, place, start in zip(images, kinds, rng.integers(6, 22, n), rng.integers(2, 10, n)):
        if kind:
            image[place - 1 : place + 2, start : start + 16] = 1
        else:
            image[start : start + 16, place - 1 : place + 2] = 1
    return images, kinds


def write_bars(folder, flipped_share):
    """Bar images in ``folder``/inputs.npz; clusters.npz holds their kinds with ``flipped_share`` of the train ones wrong."""
    rng = np.random.default_rng(0)
    (train, train_kinds), (test, test_kinds) = bars(600, rng), bars(100, rng)
    clusters = train_kinds.copy()
    flipped = rng.random(len(clusters)) < flipped_share
    clusters[flipped] = 1 - clusters[flipped]
    io.save_npz(folder / "inputs.npz", x_train=train, x_test=test)
    io.save_npz(folder / "clusters.npz", train=clusters.astype(np.int32), test=test_kinds.astype(np.int32))
    return train_kinds, test_kinds, flipped


def test_the_classifier_moves_wrongly_clustered_images_to_their_kind(tmp_path):
    stage_folder(tmp_path, SMALL)
    train_kinds, test_kinds, flipped = write_bars(tmp_path, 0.1)
    result = run_stage(tmp_path, "refine", "inputs.npz", "clusters.npz", "refined.npz")
    assert result.returncode == 0, result.stderr
    assert all(OWN_LOG_LINE.match(line) for line in result.stderr.splitlines()), result.stderr
    assert "epoch 6/6: loss " in result.stderr
    refined = io.load_npz(tmp_path / "refined.npz")
    assert flipped.sum() > 40
    assert (refined["train"][flipped] == train_kinds[flipped]).mean() > 0.9  # most wrong ids are put right
    assert (refined["train"] == train_kinds).mean() > 0.97
    assert (refined["test"] == test_kinds).mean() > 0.97
    assert refined["train"].dtype == np.int32 and refined["test"].shape == (100,)


def test_refine_gives_the_same_bytes_twice(tmp_path):
    stage_folder(tmp_path, {**SMALL, "refine.epochs": 2})
    write_bars(tmp_path, 0.1)
    for name in ("first.npz", "second.npz"):
        result = run_stage(tmp_path, "refine", "inputs.npz", "clusters.npz", name)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "first.npz").read_bytes() == (tmp_path / "second.npz").read_bytes()


def test_switched_off_it_passes_the_clusters_through(tmp_path):
    stage_folder(tmp_path, {"refine.enabled": False})
    write_bars(tmp_path, 0.1)
    result = run_stage(tmp_path, "refine", "inputs.npz", "clusters.npz", "refined.npz")
    assert result.returncode == 0, result.stderr
    assert "refine.enabled is false: wrote the clusters unchanged to refined.npz" in result.stderr
    clusters, refined = io.load_npz(tmp_path / "clusters.npz"), io.load_npz(tmp_path / "refined.npz")
    assert all(np.array_equal(clusters[split], refined[split]) for split in ("train", "test"))
