"""DVC notices changed data through its hashes and reruns everything downstream."""

import shutil

from helpers import dvc, write_params

SCORED = ("refined", "autoencoder_kmeans", "baseline")
DOWNSTREAM = ("baseline", "preprocess", "train", "encode", "cluster", "refine", *(f"evaluate@{m}" for m in SCORED))
DOWNSTREAM += ("report",)


def test_changed_data_reruns_every_downstream_stage(tiny_repo, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(tiny_repo, project, symlinks=True)
    write_params(project, {"data.test_size": 400})
    status = dvc("status", cwd=project).stdout
    assert "fetch" in status and "modified:           data" in status
    log = dvc("repro", cwd=project).stdout
    ran = [name for name in ("fetch", *DOWNSTREAM) if f"Running stage '{name}'" in log]
    assert ran == ["fetch", *DOWNSTREAM]
    assert "up to date" in dvc("status", cwd=project).stdout
