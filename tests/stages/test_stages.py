"""Stage scripts fail with one clear line, a non-zero exit and no output."""

import re
import sys

import numpy as np
import pytest
import yaml

from digitclust import errors
from digitclust.pipeline import params, stage, storage
from helpers import OWN_LOG_LINE, ROOT, run_stage, stage_folder


def test_fetch_with_no_working_source_lists_each_and_writes_nothing(tmp_path):
    sources = [{"kind": "npz_url", "url": "http://127.0.0.1:9/mnist.npz"}, {"kind": "idx_dir", "path": "nowhere"}]
    stage_folder(tmp_path, {"data.datasets.mnist.sources": sources})
    result = run_stage(tmp_path, "fetch", "data/dataset.npz")
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: no source delivered mnist: npz_url http://127.0.0.1:9/mnist.npz: ")
    assert "| idx_dir nowhere: no such folder" in error
    assert not (tmp_path / "data").exists() or list((tmp_path / "data").iterdir()) == []


def test_a_bad_param_stops_a_stage_before_it_reads_anything(tmp_path):
    stage_folder(tmp_path, {"autoencoder.epochs": 0})
    result = run_stage(tmp_path, "train", "missing.npz", "e.keras", "d.keras", "live", "checkpoints")
    assert result.returncode == 1
    assert result.stderr == "error: params.yaml: autoencoder.epochs = 0: expected an integer >= 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dvc.yaml", "params.yaml"]


def test_an_os_error_is_one_line_with_exit_code_1(tmp_path, monkeypatch, capsys):
    def full_disk(params, args):
        raise OSError(28, "No space left on device", "data/codes.npz")

    stage_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["encode.py"])
    with pytest.raises(SystemExit) as exit_info:
        stage.run(full_disk, "test stage")
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == "error: [Errno 28] No space left on device: 'data/codes.npz'\n"


def test_preprocess_of_a_missing_dataset_names_it_and_writes_nothing(tmp_path):
    stage_folder(tmp_path)
    result = run_stage(tmp_path, "preprocess", "missing.npz", "data/inputs.npz")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: [Errno 2] No such file or directory")
    assert "missing.npz" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dvc.yaml", "params.yaml"]


@pytest.mark.parametrize(
    "name, args",
    [
        ("train", ["missing.npz", "e.keras", "d.keras", "live", "checkpoints"]),
        ("encode", ["missing.npz", "encoder.keras", "codes.npz"]),
        ("cluster", ["missing.npz", "assignments.npz", "embedding.npz"]),
        ("refine", ["missing.npz", "clusters.npz", "refined.npz"]),
        ("report", ["d.npz", "i.npz", "c.npz", "b.npz", "a.npz", "e.keras", "d.keras", "metrics", "report"]),
    ],
)
def test_a_stage_that_loads_keras_or_umap_says_only_its_error_on_stderr(tmp_path, name, args):
    stage_folder(tmp_path, {"cluster.umap.min_dist": 5.0})
    result = run_stage(tmp_path, name, *args)
    assert result.returncode == 1
    assert result.stderr == "error: params.yaml: cluster.umap.min_dist = 5.0: expected a number from 0 to 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dvc.yaml", "params.yaml"]


def test_a_missing_input_of_a_keras_stage_is_one_line_without_start_up_noise(tmp_path):
    stage_folder(tmp_path)
    result = run_stage(tmp_path, "encode", "missing.npz", "encoder.keras", "codes.npz")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
    assert "encoder.keras" in result.stderr or "missing.npz" in result.stderr


def test_a_wrong_command_line_is_one_line(tmp_path):
    stage_folder(tmp_path)
    result = run_stage(tmp_path, "cluster", "only-one-path.npz")
    assert result.returncode == 2
    assert (
        len(result.stderr.splitlines()) == 1
        and "the following arguments are required: output, embedding" in result.stderr
    )


def test_a_stage_sees_only_the_params_dvc_yaml_declares_for_it():
    values = {"seed": 0, "kmeans": {"k": 10, "n_init": 3}, "cluster": {"umap": {"n_neighbors": 20}}}
    view = stage.restricted_params(values, ["seed", "kmeans.k", "cluster"], "report")
    assert view == {"seed": 0, "kmeans": {"k": 10}, "cluster": {"umap": {"n_neighbors": 20}}}
    assert view["cluster"]["umap"]["n_neighbors"] == 20
    with pytest.raises(
        stage.UndeclaredParam, match="stage report reads kmeans.n_init from params.yaml, but its params"
    ):
        view["kmeans"]["n_init"]
    with pytest.raises(stage.UndeclaredParam, match="reads autoencoder from params.yaml"):
        view["autoencoder"]


def test_every_stage_declares_its_params_in_dvc_yaml():
    for name in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]:
        keys = stage.declared_params(name, ROOT / "dvc.yaml")
        stage.restricted_params(params.load(ROOT / "params.yaml"), keys, name)  # every declared key exists


def test_a_stage_that_runs_umap_logs_only_its_own_lines(tmp_path):
    stage_folder(tmp_path, {"cluster.umap.n_components": 2, "cluster.umap.n_neighbors": 10, "kmeans.n_init": 1})
    rng = np.random.default_rng(0)
    storage.save_npz(
        tmp_path / "codes.npz", train=rng.random((300, 8), np.float32), test=rng.random((50, 8), np.float32)
    )
    result = run_stage(tmp_path, "cluster", "codes.npz", "assignments.npz", "embedding.npz")
    assert result.returncode == 0, result.stderr
    assert all(OWN_LOG_LINE.match(line) for line in result.stderr.splitlines()), result.stderr
    assert "completed 10 / 50 epochs" in result.stderr and result.stdout == ""


def test_the_cluster_stage_runs_a_gaussian_mixture_when_the_params_say_so(tmp_path):
    stage_folder(
        tmp_path,
        {"cluster.method": "gmm", "cluster.manifold": "none", "kmeans.k": 3, "cluster.gmm.covariance_type": "diag"},
    )
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=10, size=(3, 8)).astype(np.float32)
    train, test = (centres[np.arange(n) % 3] + rng.normal(size=(n, 8)).astype(np.float32) for n in (300, 60))
    storage.save_npz(tmp_path / "codes.npz", train=train, test=test)
    result = run_stage(tmp_path, "cluster", "codes.npz", "assignments.npz", "embedding.npz")
    assert result.returncode == 0, result.stderr
    assert all(OWN_LOG_LINE.match(line) for line in result.stderr.splitlines()), result.stderr
    assert "clustering 300 train points with gmm {'covariance_type': 'diag'" in result.stderr
    assert "gaussian mixture: lower bound" in result.stderr and "k-means restart" not in result.stderr
    assigned = storage.load_npz(tmp_path / "assignments.npz")
    assert assigned["train"].shape == (300,) and assigned["test"].shape == (60,)
    for split, n in (("train", 300), ("test", 60)):  # each blob is one cluster
        ids = assigned[split].reshape(n // 3, 3)
        assert (ids == ids[0]).all() and len(set(ids[0])) == 3


def damaged_inputs(folder):
    """Inputs of every kind a stage reads, each damaged in its own way, in ``folder``."""
    (folder / "garbage.npz").write_bytes(b"PK\x03\x04 not really a zip file")
    storage.save_npz(
        folder / "half_labels.npz",
        x_train=np.zeros((20, 28, 28), np.uint8),
        y_train=np.zeros(20, np.uint8),
        x_test=np.zeros((5, 28, 28), np.uint8),
    )
    storage.save_npz(
        folder / "flat.npz", x_train=np.zeros((20, 784), np.float32), x_test=np.zeros((5, 784), np.float32)
    )
    storage.save_npz(
        folder / "nan_codes.npz", train=np.full((20, 4), np.nan, np.float32), test=np.zeros((5, 4), np.float32)
    )
    (folder / "garbage.keras").write_bytes(b"not a model")
    storage.save_npz(
        folder / "inputs.npz", x_train=np.zeros((20, 28, 28), np.float32), x_test=np.zeros((5, 28, 28), np.float32)
    )
    storage.save_npz(folder / "clusters_above_k.npz", train=np.arange(20, dtype=np.int32), test=np.zeros(5, np.int32))


@pytest.mark.parametrize(
    "name, args, problem",
    [
        ("preprocess", ["garbage.npz", "out.npz"], "garbage.npz: damaged, or not written by this pipeline"),
        (
            "baseline",
            ["half_labels.npz", "out.npz"],
            "half_labels.npz: holds y_train alone; expected y_train and y_test, or neither",
        ),
        (
            "train",
            ["flat.npz", "e.keras", "d.keras", "live", "checkpoints"],
            "flat.npz: images of shape (20, 784), expected (N, H, W) or (N, H, W, 3), H and W from 8 to 256",
        ),
        (
            "encode",
            ["inputs.npz", "garbage.keras", "out.npz"],
            "garbage.keras: not a Keras model file (not a zip archive)",
        ),
        ("cluster", ["nan_codes.npz", "out.npz", "e.npz"], "nan_codes.npz: some codes are not finite numbers"),
        (
            "refine",
            ["inputs.npz", "clusters_above_k.npz", "out.npz"],
            "clusters_above_k.npz: expected 20 train cluster ids from 0 to 9; `dvc repro` rebuilds it",
        ),
        (
            "refine",
            ["flat.npz", "clusters_above_k.npz", "out.npz"],
            "flat.npz: images of shape (20, 784), expected (N, H, W) or (N, H, W, 3), H and W from 8 to 256",
        ),
    ],
)
def test_a_damaged_input_is_named_in_one_line_and_nothing_is_written(tmp_path, name, args, problem):
    stage_folder(tmp_path)
    damaged_inputs(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_stage(tmp_path, name, *args)
    assert result.returncode == 1
    *log, error = result.stderr.splitlines()
    assert error.startswith(f"error: {problem}"), result.stderr
    assert all(OWN_LOG_LINE.match(line) for line in log), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_training_that_diverges_stops_in_one_line_and_writes_no_model(tmp_path):
    stage_folder(tmp_path, {"autoencoder.learning_rate": 1e30, "autoencoder.epochs": 3})
    rng = np.random.default_rng(0)
    storage.save_npz(
        tmp_path / "in.npz", x_train=rng.random((600, 28, 28), np.float32), x_test=rng.random((100, 28, 28), np.float32)
    )
    result = run_stage(tmp_path, "train", "in.npz", "e.keras", "d.keras", "live", "checkpoints")
    assert result.returncode == 1
    error = result.stderr.splitlines()[-1]  # the loss is nan or inf, depending on the CPU
    assert error.startswith("error: training diverged: loss ") and " after epoch 1; " in error, result.stderr
    assert error.endswith("lower autoencoder.learning_rate in params.yaml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dvc.yaml", "in.npz", "params.yaml"]


def test_a_dvc_yaml_of_exponential_aliases_is_one_line(tmp_path):
    (tmp_path / "dvc.yaml").write_text("a: &a [x, x]\nb: &b [*a, *a]\nstages: {fetch: {params: *b}}\n")
    path = tmp_path / "dvc.yaml"
    with pytest.raises(errors.PipelineError, match=f"^{re.escape(str(path))}: line 2: an alias"):
        stage.declared_params("fetch", path)
