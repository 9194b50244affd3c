"""DVCLive: `dvc exp show` sees a training while it runs, and `dvc plots` draws DVCLive's history."""

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import yaml

from helpers import dvc, environment


def running_rows(repo):
    """The rows of `dvc exp show --csv` that carry a training step (others show "!" or nothing)."""
    shown = dvc("exp", "show", "--csv", "--drop", ".*", "--keep", "Experiment|step|^loss", cwd=repo).stdout
    return [row for row in csv.DictReader(io.StringIO(shown)) if row.get("step", "").isdigit()]


def test_exp_show_shows_the_current_epoch_and_loss_while_training_runs(tiny_repo, tmp_path):
    repo = tmp_path / "project"
    shutil.copytree(tiny_repo, repo, symlinks=True)
    command = [sys.executable, "-m", "dvc", "exp", "run", "-n", "long", "-S", "autoencoder.epochs=500", "train"]
    training = subprocess.Popen(
        command,
        cwd=repo,
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline, seen = time.monotonic() + 180, []
        while time.monotonic() < deadline and training.poll() is None:
            seen = [row for row in running_rows(repo) if row["Experiment"] == "long" and int(row["step"]) >= 3]
            if seen:
                break
            time.sleep(2)
        assert training.poll() is None, "the 500-epoch training ended before it was seen"
        assert seen, "dvc exp show never showed the running training's epoch"
        assert 0 < float(seen[0]["loss"]) < 1
    finally:
        os.killpg(training.pid, signal.SIGTERM)
        training.wait(timeout=60)


def test_training_logs_every_epoch_with_dvclive_and_no_timestamp(tiny_repo):
    summary = json.loads((tiny_repo / "dvclive" / "metrics.json").read_text())
    epochs = yaml.safe_load((tiny_repo / "params.yaml").read_text())["autoencoder"]["epochs"]
    assert summary["step"] == epochs and set(summary) == {"loss", "val_loss", "step"}
    logged = yaml.safe_load((tiny_repo / "dvclive" / "params.yaml").read_text())
    assert logged["epochs"] == epochs and logged["backend"] == "tensorflow" and "seed" in logged
    history = (tiny_repo / "dvclive" / "plots" / "metrics" / "loss.tsv").read_text().splitlines()
    assert history[0] == "step\tloss" and len(history) == epochs + 1
    assert float(history[-1].split("\t")[1]) == summary["loss"]
