"""End to end: `dvc repro` on real MNIST with tiny params, in a fresh repository."""

import csv
import json
import shutil

import numpy as np
import pytest
import yaml

from helpers import dvc
from remote_helpers import CACHED_OUTPUTS

METHODS = ("refined", "autoencoder_kmeans", "baseline")  # dvc.yaml's scored methods
OUTPUTS = [
    *CACHED_OUTPUTS,
    *(f"metrics/{method}.json" for method in METHODS),
    "dvclive/metrics.json",
    "dvclive/params.yaml",
    "dvclive/plots/metrics/loss.tsv",
    "dvclive/plots/metrics/val_loss.tsv",
    "plots/report/reconstructions.png",
    "plots/report/map.png",
    "plots/report/centres_baseline.png",
    "plots/report/centres_autoencoder.png",
    "plots/report/typical.png",
    "plots/report/purity.png",
    "plots/confusion/baseline.csv",
    "plots/confusion/autoencoder_kmeans.csv",
    "plots/confusion/refined.csv",
    "plots/heatmaps/baseline.png",
    "plots/heatmaps/autoencoder_kmeans.png",
    "plots/heatmaps/refined.png",
]


@pytest.fixture
def repro(tiny_repo):
    return tiny_repo


def read_scores(repo):
    """``{method: {split: {score: value}}}`` from each scored method's metrics/<method>.json (score, then split)."""
    scores = {method: json.loads((repo / f"metrics/{method}.json").read_text()) for method in METHODS}
    return {
        method: {split: {score: by_split[split] for score, by_split in values.items()} for split in ("train", "test")}
        for method, values in scores.items()
    }


def test_every_output_exists(repro):
    missing = [path for path in OUTPUTS if not (repro / path).is_file()]
    assert missing == []


def test_metrics_cover_every_method_and_both_splits_within_unit_interval(repro):
    scores = read_scores(repro)
    for method in scores.values():
        assert set(method) == {"train", "test"}
        for split in method.values():
            assert set(split) == {"purity", "accuracy", "nmi", "ari"}
            assert all(0 <= split[name] <= 1 for name in ("purity", "accuracy", "nmi"))
            assert split["purity"] >= split["accuracy"]
    assert scores["baseline"]["train"]["purity"] > 0.3  # far above the 0.1 of chance on real digits


def test_outputs_have_the_sizes_params_ask_for(repro):
    with np.load(repro / "data/dataset.npz") as dataset:
        assert dataset["x_train"].shape == (2000, 28, 28) and dataset["x_test"].shape == (500, 28, 28)
    with np.load(repro / "data/inputs.npz") as inputs:
        assert inputs["x_train"].shape == (2000, 28, 28) and inputs["x_train"].dtype == np.float32
        assert inputs["x_train"].min() >= 0 and inputs["x_train"].max() <= 1
    code_size = yaml.safe_load((repro / "params.yaml").read_text())["autoencoder"]["code_size"]
    with np.load(repro / "data/codes.npz") as codes:
        assert codes["train"].shape == (2000, code_size) and codes["test"].shape == (500, code_size)
    for method in ("autoencoder_kmeans", "refined"):
        with np.load(repro / f"data/assignments/{method}.npz") as assignments:
            assert assignments["train"].shape == (2000,) and assignments["test"].shape == (500,)
            assert set(np.unique(assignments["train"])) <= set(range(10))


def test_metrics_show_reads_the_scores(repro):
    shown = json.loads(dvc("metrics", "show", "--json", cwd=repro).stdout)
    assert shown[""]["data"]["metrics/autoencoder_kmeans.json"]["data"]["purity"]["test"] > 0


def test_nothing_left_to_do_after_repro(repro):
    assert "up to date" in dvc("status", cwd=repro).stdout
    again = dvc("repro", cwd=repro).stdout
    assert "Running stage" not in again


def test_the_autoencoder_method_beats_k_means_on_pixels(repro):
    scores = read_scores(repro)
    for split in ("train", "test"):
        assert scores["autoencoder_kmeans"][split]["purity"] > scores["baseline"][split]["purity"] + 0.1, scores


@pytest.mark.parametrize("method", METHODS)
def test_the_confusion_plot_files_recompute_to_the_committed_purity(repro, method):
    with open(repro / f"plots/confusion/{method}.csv") as file:
        rows = list(csv.DictReader(file))
    with np.load(repro / "data/dataset.npz") as dataset:
        assert [int(row["actual"]) for row in rows] == dataset["y_test"].tolist()
    scores = read_scores(repro)
    agreeing = sum(row["actual"] == row["predicted"] for row in rows) / len(rows)
    assert agreeing == pytest.approx(scores[method]["test"]["purity"], abs=1e-12)


def test_a_forced_rerun_gives_the_same_outputs_byte_for_byte(repro, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(repro, project, symlinks=True)
    lock = (project / "dvc.lock").read_text()
    log = dvc("repro", "--force", "--single-item", "train", "encode", "refine", cwd=project).stdout
    assert all(f"Running stage '{name}'" in log for name in ("train", "encode", "refine")), log
    assert (project / "dvc.lock").read_text() == lock
