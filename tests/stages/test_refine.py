"""The refine stage: a CNN trained on cluster ids from augmented images relabels both splits."""

import numpy as np

from conftest import write_bars
from digitclust.pipeline import storage
from helpers import OWN_LOG_LINE, run_stage, stage_folder

SMALL = {"refine.epochs": 6, "refine.batch_size": 32}


def test_the_classifier_moves_wrongly_clustered_images_to_their_kind(tmp_path):
    stage_folder(tmp_path, SMALL)
    train_kinds, test_kinds, flipped = write_bars(tmp_path, 0.1)
    result = run_stage(tmp_path, "refine", "inputs.npz", "clusters.npz", "refined.npz")
    assert result.returncode == 0, result.stderr
    assert all(OWN_LOG_LINE.match(line) for line in result.stderr.splitlines()), result.stderr
    assert "epoch 6/6: loss " in result.stderr
    refined = storage.load_npz(tmp_path / "refined.npz")
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
    clusters, refined = storage.load_npz(tmp_path / "clusters.npz"), storage.load_npz(tmp_path / "refined.npz")
    assert all(np.array_equal(clusters[split], refined[split]) for split in ("train", "test"))
