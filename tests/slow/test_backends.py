"""The Keras stages (train, encode, refine) run on Keras' JAX backend too, chosen by `autoencoder.backend`."""

import numpy as np

from conftest import write_bars
from digitclust.pipeline import storage
from helpers import OWN_LOG_LINE, run_stage, stage_folder


def test_train_and_encode_run_on_jax(tmp_path):
    stage_folder(tmp_path, {"autoencoder.backend": "jax", "autoencoder.epochs": 2, "autoencoder.code_size": 8})
    rng = np.random.default_rng(0)
    storage.save_npz(
        tmp_path / "inputs.npz",
        x_train=rng.random((600, 28, 28), np.float32),
        x_test=rng.random((100, 28, 28), np.float32),
    )

    trained = run_stage(tmp_path, "train", "inputs.npz", "encoder.keras", "decoder.keras", "live", "checkpoints")
    assert trained.returncode == 0, trained.stderr
    assert "epochs 1 to 2, batch 256, with Keras on jax" in trained.stderr
    encoded = run_stage(tmp_path, "encode", "inputs.npz", "encoder.keras", "codes.npz")
    assert encoded.returncode == 0, encoded.stderr

    codes = storage.load_npz(tmp_path / "codes.npz")
    assert codes["train"].shape == (600, 8) and codes["test"].shape == (100, 8)
    assert np.isfinite(codes["train"]).all() and codes["train"].std() > 0
    for result in (trained, encoded):
        assert all(OWN_LOG_LINE.match(line) for line in result.stderr.splitlines()), result.stderr


def test_refine_runs_on_jax_and_puts_wrong_clusters_right(tmp_path):
    stage_folder(tmp_path, {"autoencoder.backend": "jax", "refine.epochs": 6, "refine.batch_size": 32})
    train_kinds, _, flipped = write_bars(tmp_path, 0.1)
    result = run_stage(tmp_path, "refine", "inputs.npz", "clusters.npz", "refined.npz")
    assert result.returncode == 0, result.stderr
    assert "epochs 1 to 6, batch 32, with Keras on jax" in result.stderr
    assert all(OWN_LOG_LINE.match(line) for line in result.stderr.splitlines()), result.stderr
    refined = storage.load_npz(tmp_path / "refined.npz")
    assert (refined["train"][flipped] == train_kinds[flipped]).mean() > 0.9
