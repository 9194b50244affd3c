"""Extending the pipeline through dvc.yaml alone, and what DVC's tables show first: slow, they run `dvc repro`."""

import json
import os
import pty
import re
import shutil
import sys
from copy import deepcopy

import numpy as np
import pytest
import yaml

from conftest import checksums_of, tiny_arrays, write_idx_dir
from helpers import copy_project, dvc, environment

METHODS = ["refined", "autoencoder_kmeans", "baseline"]  # dvc.yaml's scored methods, the default first
SCORES = ["purity", "accuracy", "nmi", "ari"]


def test_metrics_show_has_one_file_per_scored_method(tiny_repo):
    shown = json.loads(dvc("metrics", "show", "--json", cwd=tiny_repo).stdout)[""]["data"]
    methods = [path.removeprefix("metrics/").removesuffix(".json") for path in shown if path.startswith("metrics/")]
    assert methods == METHODS
    for method in METHODS:
        data = shown[f"metrics/{method}.json"]["data"]
        assert list(data) == SCORES and all(list(data[score]) == ["train", "test"] for score in data)


def test_exp_show_leads_with_the_purity_of_the_refined_method(tiny_repo):
    shown = json.loads(dvc("exp", "show", "--json", cwd=tiny_repo).stdout)
    metrics = shown[0]["data"]["metrics"]
    assert list(metrics)[0] == "metrics/refined.json"
    refined = metrics["metrics/refined.json"]["data"]
    assert 0 < refined["purity"]["train"] <= 1 and 0 < refined["purity"]["test"] <= 1
    assert "dvclive/metrics.json" in metrics and list(metrics)[-1] == "dvclive/metrics.json"


def shown_in_a_terminal(repo, columns):
    """What `dvc exp show` shows in a terminal ``columns`` wide: the left edge of each line of its pager.

    In a terminal DVC draws the whole table into its pager (less -S, which cuts each line at
    the terminal's edge); ``DVC_PAGER=cat`` gives the same lines, cut here.
    """
    pid, fd = pty.fork()
    if pid == 0:  # the child: dvc on a terminal
        os.chdir(repo)
        env = {**environment(), "COLUMNS": str(columns), "LINES": "40", "DVC_PAGER": "cat"}
        os.execve(sys.executable, [sys.executable, "-m", "dvc", "exp", "show"], env)
    output = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.waitpid(pid, 0)
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", output.decode())
    return [line[:columns] for line in text.splitlines()]


def test_exp_show_in_a_120_column_terminal_shows_the_refined_purity_of_both_splits(tiny_repo):
    header, row = [line.split() for line in shown_in_a_terminal(tiny_repo, 120)[1:4:2]]
    assert header[:4] == [
        "Experiment",
        "Created",
        "metrics/refined.json:purity.train",
        "metrics/refined.json:purity.test",
    ]
    metrics = json.loads(dvc("metrics", "show", "--json", cwd=tiny_repo).stdout)[""]["data"]["metrics/refined.json"]
    assert row[0] == "workspace" and [float(value) for value in row[2:4]] == [
        pytest.approx(metrics["data"]["purity"][split], abs=1e-3) for split in ("train", "test")
    ]


def test_a_method_added_to_the_list_is_scored_as_its_own_row(tiny_repo, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(tiny_repo, project, symlinks=True)
    pipeline = yaml.safe_load((project / "dvc.yaml").read_text())
    copy = deepcopy(pipeline["stages"]["baseline"])  # no shared objects: PyYAML would write them as aliases
    copy["cmd"] = copy["cmd"].replace("data/assignments/baseline.npz", "data/assignments/pixels.npz")
    copy["outs"] = ["data/assignments/pixels.npz"]
    pipeline["stages"] = {"pixels": copy, **pipeline["stages"]}
    pipeline["stages"]["evaluate"]["foreach"].append("pixels")  # the one place that lists the scored methods
    (project / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))

    log = dvc("repro", cwd=project).stdout

    assert "Running stage 'evaluate@pixels'" in log and "Running stage 'report'" in log, log
    assert "Running stage 'evaluate@baseline'" not in log, log
    shown = json.loads(dvc("metrics", "show", "--json", cwd=project).stdout)[""]["data"]
    assert [path for path in shown if path.startswith("metrics/")] == [
        f"metrics/{m}.json" for m in [*METHODS, "pixels"]
    ]
    # the same K-Means on the same pixels: the same scores, as a row of its own
    assert shown["metrics/pixels.json"]["data"] == shown["metrics/baseline.json"]["data"]
    assert (project / "plots/confusion/pixels.csv").is_file() and (project / "plots/heatmaps/pixels.png").is_file()


def test_a_dataset_declared_in_params_alone_is_fetched_by_dvc_repro(tmp_path):
    arrays = tiny_arrays(n_train=30, n_test=10, seed=3)
    folder = write_idx_dir(tmp_path / "my_digits", arrays, gzipped={"t10k-images-idx3-ubyte"})
    sha256 = {name: digest for name, digest in checksums_of(arrays).items() if name != "mnist.npz"}
    declared = {"sha256": sha256, "sources": [{"kind": "idx_dir", "path": str(folder)}]}
    (tmp_path / "project").mkdir()
    project = copy_project(tmp_path / "project", {"data.dataset": "my_digits", "data.datasets.my_digits": declared})

    log = dvc("repro", "fetch", cwd=project).stdout + dvc("status", "fetch", cwd=project).stdout

    assert "Running stage 'fetch'" in log and "up to date" in log, log
    with np.load(project / "data/dataset.npz") as fetched:
        assert all((fetched[key] == arrays[key]).all() for key in arrays)
