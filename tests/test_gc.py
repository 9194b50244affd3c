"""`dvc gc` keeps what the workspace's commit uses and deletes the rest, as the README says."""

import shutil

from helpers import dvc, run, write_params
from remote_helpers import lock_hashes, object_path


def cached_objects(repo):
    return {path.parent.name + path.name for path in (repo / ".dvc" / "cache" / "files" / "md5").glob("*/*")}


def test_gc_of_the_workspace_deletes_only_what_it_no_longer_uses(tiny_repo, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(tiny_repo, project, symlinks=True)
    kept = lock_hashes(tiny_repo)
    write_params(project, {"kmeans.n_init": 3})
    dvc("repro", cwd=project)
    abandoned = set(lock_hashes(project).values()) - set(kept.values())
    assert abandoned and abandoned <= cached_objects(project)  # the new assignments, cached
    run(["git", "checkout", "--", "params.yaml", "dvc.lock", "metrics", "plots"], cwd=project)
    dvc("checkout", cwd=project)

    dvc("gc", "--workspace", "--force", cwd=project)

    assert not abandoned & cached_objects(project)
    assert all(object_path(project / ".dvc" / "cache", digest).is_file()
               for path, digest in kept.items() if path.startswith(("data/", "models/")))
    assert "Data and pipelines are up to date" in dvc("status", cwd=project).stdout
    assert "Running stage" not in dvc("repro", cwd=project).stdout
