"""`dvc gc` keeps what the workspace's commit uses and deletes the rest, as the README says."""

import shutil

from helpers import dvc, run, write_params
from remote_helpers import CACHED_OUTPUTS, lock_hashes, object_path


def cached_output_hashes(repo):
    """MD5 of each output of ``repo``'s dvc.lock that DVC keeps in its cache."""
    return {path: digest for path, digest in lock_hashes(repo).items() if path in CACHED_OUTPUTS}


def cached_objects(repo):
    return {path.parent.name + path.name for path in (repo / ".dvc" / "cache" / "files" / "md5").glob("*/*")}


def test_gc_of_the_workspace_deletes_only_what_it_no_longer_uses(tiny_repo, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(tiny_repo, project, symlinks=True)
    kept = cached_output_hashes(tiny_repo)
    write_params(project, {"kmeans.k": 8})  # other assignments, so new objects in the cache
    dvc("repro", cwd=project)
    abandoned = set(cached_output_hashes(project).values()) - set(kept.values())
    assert abandoned and abandoned <= cached_objects(project)  # the new assignments, cached
    run(["git", "checkout", "--", "params.yaml", "dvc.lock", "metrics", "plots"], cwd=project)
    dvc("checkout", cwd=project)

    dvc("gc", "--workspace", "--force", cwd=project)

    assert not abandoned & cached_objects(project)
    assert all(object_path(project / ".dvc" / "cache", digest).is_file() for digest in kept.values())
    assert "Data and pipelines are up to date" in dvc("status", cwd=project).stdout
    assert "Running stage" not in dvc("repro", cwd=project).stdout
