"""Extending the pipeline through dvc.yaml alone, and what DVC's tables show first: slow, they run `dvc repro`."""

import json
import shutil
import subprocess
import sys

import yaml

from helpers import dvc, environment

METHODS = ["refined", "autoencoder", "baseline"]  # dvc.yaml's scored methods, the default first
SCORES = ["purity", "accuracy", "nmi", "ari"]


def test_metrics_show_has_one_file_per_scored_method(tiny_repo):
    shown = json.loads(dvc("metrics", "show", "--json", cwd=tiny_repo).stdout)[""]["data"]
    methods = [path.removeprefix("metrics/").removesuffix(".json") for path in shown if path.startswith("metrics/")]
    assert methods == METHODS
    for method in METHODS:
        data = shown[f"metrics/{method}.json"]["data"]
        assert list(data) == ["train", "test"] and all(list(data[split]) == SCORES for split in data)


def test_exp_show_leads_with_the_purity_of_the_refined_method(tiny_repo):
    shown = json.loads(dvc("exp", "show", "--json", cwd=tiny_repo).stdout)
    metrics = shown[0]["data"]["metrics"]
    assert list(metrics)[0] == "metrics/refined.json"
    refined = metrics["metrics/refined.json"]["data"]
    assert 0 < refined["train"]["purity"] <= 1 and 0 < refined["test"]["purity"] <= 1
    assert "dvclive/metrics.json" in metrics and list(metrics)[-1] == "dvclive/metrics.json"
    wide = subprocess.run([sys.executable, "-m", "dvc", "exp", "show", "--no-pager"], cwd=tiny_repo, check=True,
                          env={**environment(), "COLUMNS": "200"}, capture_output=True, text=True).stdout
    header = wide.splitlines()[1].split()
    assert header[2] == "metrics/refined.json:train.purity" and "loss" not in header and "step" not in header, wide


def test_a_method_added_to_the_list_is_scored_as_its_own_row(tiny_repo, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(tiny_repo, project, symlinks=True)
    pipeline = yaml.safe_load((project / "dvc.yaml").read_text())
    copy = dict(pipeline["stages"]["baseline"])
    copy["cmd"] = copy["cmd"].replace("data/assignments/baseline.npz", "data/assignments/pixels.npz")
    copy["outs"] = ["data/assignments/pixels.npz"]
    pipeline["stages"] = {"pixels": copy, **pipeline["stages"]}
    pipeline["vars"][0]["scored"]["methods"].append("pixels")  # the one place that lists the scored methods
    (project / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))

    log = dvc("repro", cwd=project).stdout

    assert "Running stage 'evaluate@pixels'" in log and "Running stage 'report'" in log, log
    assert "Running stage 'evaluate@baseline'" not in log, log
    shown = json.loads(dvc("metrics", "show", "--json", cwd=project).stdout)[""]["data"]
    assert [path for path in shown if path.startswith("metrics/")] == [f"metrics/{m}.json" for m in [*METHODS, "pixels"]]
    # the same K-Means on the same pixels: the same scores, as a row of its own
    assert shown["metrics/pixels.json"]["data"] == shown["metrics/baseline.json"]["data"]
    assert (project / "plots/confusion/pixels.csv").is_file() and (project / "plots/confusion/pixels.png").is_file()
