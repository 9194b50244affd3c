"""Stage scripts fail with one clear line, a non-zero exit and no output."""

import sys

from helpers import ROOT, run, write_params


def run_stage(folder, script, *args):
    return run([sys.executable, str(ROOT / "stages" / script), *args], cwd=folder, check=False)


def test_fetch_with_no_working_source_lists_each_and_writes_nothing(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    sources = [{"kind": "npz_url", "url": "http://127.0.0.1:9/mnist.npz"}, {"kind": "idx_dir", "path": "nowhere"}]
    write_params(tmp_path, {"data.sources.mnist": sources})
    result = run_stage(tmp_path, "fetch.py", "data/dataset.npz")
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: no source delivered mnist: npz_url http://127.0.0.1:9/mnist.npz: ")
    assert "| idx_dir nowhere: no such folder" in error
    assert not (tmp_path / "data").exists() or list((tmp_path / "data").iterdir()) == []


def test_a_bad_param_stops_a_stage_before_it_reads_anything(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    write_params(tmp_path, {"autoencoder.epochs": 0})
    result = run_stage(tmp_path, "train.py", "missing.npz", "a.keras", "e.keras", "h.csv", "r.png")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: params.yaml: autoencoder.epochs = 0: expected an integer >= 1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


def test_an_os_error_is_one_line_with_exit_code_1(tmp_path, monkeypatch, capsys):
    import pytest

    from digitclust import stage

    def full_disk(params, args):
        raise OSError(28, "No space left on device", "data/codes.npz")

    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["encode.py"])
    with pytest.raises(SystemExit) as exit_info:
        stage.run(full_disk, "test stage")
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == "error: [Errno 28] No space left on device: 'data/codes.npz'\n"


def test_preprocess_of_a_missing_dataset_names_it_and_writes_nothing(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    result = run_stage(tmp_path, "preprocess.py", "missing.npz", "data/inputs.npz")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: [Errno 2] No such file or directory")
    assert "missing.npz" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]
