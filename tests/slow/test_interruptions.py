"""Stopping a stage leaves no partial output; a checkpointed training resumes to the same result."""

import json
import signal
import subprocess
import time

import numpy as np
import pytest

from conftest import tiny_arrays
from digitclust.pipeline import storage
from helpers import stage_command, stage_environment, stage_folder, write_params

TRAIN_OUTPUTS = ["encoder.keras", "decoder.keras", "live"]
STAGES = {
    "train": (["inputs.npz", *TRAIN_OUTPUTS, "checkpoints"], "epoch 1/"),
    "baseline": (["data.npz", "baseline.npz"], "k-means restart 1/"),
}


def workspace(folder, changes):
    """A folder with dvc.yaml, params.yaml (default params plus ``changes``), a small dataset in data.npz
    and its images as the autoencoder's inputs in inputs.npz."""
    stage_folder(folder, changes)
    arrays = tiny_arrays(n_train=600, n_test=100)
    storage.save_npz(folder / "data.npz", **arrays)
    storage.save_npz(folder / "inputs.npz", **{key: arrays[key] / np.float32(255) for key in ("x_train", "x_test")})
    return folder


def as_in_a_terminal():
    """Let the stage take Ctrl-C as a foreground command does, even when pytest runs in the background.

    A shell starts background jobs with SIGINT ignored, and Python then never raises KeyboardInterrupt.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_stage(folder, name):
    args = STAGES[name][0]
    return subprocess.Popen(
        stage_command(name, *args),
        cwd=folder,
        env={**stage_environment(), "PYTHONUNBUFFERED": "1"},
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_in_a_terminal,
    )


def wait_for(process, text, limit=120):
    """Read the process's log until ``text`` appears; return the lines read."""
    lines, deadline = [], time.monotonic() + limit
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if text in line or not line:
            return lines
    raise AssertionError(f"{text!r} not logged within {limit} s:\n{''.join(lines)}")


def run_to_end(folder, name):
    process = start_stage(folder, name)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return err


@pytest.mark.parametrize("name, signum", [("train", signal.SIGTERM), ("baseline", signal.SIGINT)])
def test_a_stopped_stage_leaves_no_output(tmp_path, name, signum):
    folder = workspace(tmp_path, {"autoencoder.epochs": 200, "kmeans.n_init": 500})
    process = start_stage(folder, name)
    lines = wait_for(process, STAGES[name][1])
    process.send_signal(signum)
    _, rest = process.communicate(timeout=60)
    log = "".join(lines) + rest
    assert process.returncode == 130, log
    assert log.strip().splitlines()[-1].startswith("error: interrupted; the stage left no partial output")
    assert sorted(p.name for p in folder.iterdir()) == ["data.npz", "dvc.yaml", "inputs.npz", "params.yaml"]


def test_training_resumed_from_a_checkpoint_ends_as_an_uninterrupted_run(tmp_path):
    # six epochs: the stop after epoch 2 lands long before the run could end, even on a busy machine
    changes = {"autoencoder.epochs": 6, "autoencoder.checkpoint": True}
    whole = workspace(tmp_path / "whole", changes)
    run_to_end(whole, "train")

    resumed = workspace(tmp_path / "resumed", changes)
    process = start_stage(resumed, "train")
    wait_for(process, "checkpoint saved after epoch 2")
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    done = json.loads((resumed / "checkpoints" / "state.json").read_text())["epochs_done"]
    assert 2 <= done < 6
    log = run_to_end(resumed, "train")
    assert f"resuming from checkpoints after epoch {done}" in log

    for log in ("metrics.json", "params.yaml", "plots/metrics/loss.tsv", "plots/metrics/val_loss.tsv"):
        assert (resumed / "live" / log).read_text() == (whole / "live" / log).read_text(), log  # one history
    weights = [storage.load_keras(folder / "encoder.keras").get_weights() for folder in (whole, resumed)]
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=False))
    assert not (resumed / "checkpoints").exists()


def test_a_checkpoint_of_other_params_is_not_resumed(tmp_path):
    folder = workspace(tmp_path, {"autoencoder.epochs": 200, "autoencoder.checkpoint": True})
    process = start_stage(folder, "train")
    wait_for(process, "checkpoint saved after epoch 1")
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    write_params(folder, {"autoencoder.learning_rate": 0.01, "autoencoder.epochs": 2})
    log = run_to_end(folder, "train")
    assert "ignoring checkpoint in checkpoints: it was made with other params or data" in log
    assert "training on 600 images, epochs 1 to 2" in log
