"""Sharing a run through DVC remotes: a folder and SSH on loopback, the run cache, and broken remotes.

Every scenario starts from ``git clone`` of the shared ``tiny_repo`` (a clone has an empty DVC
cache, so whatever it gets, it gets from the remote) and pushes to a remote folder of its own.
The pushes come from ``publisher``: one clone that fetched the origin's objects and run cache,
so the origin itself is never written to (not even its untracked .dvc/config.local).
"""

import pytest
import yaml

from helpers import dvc, write_params
from remote_helpers import (
    CACHED_OUTPUTS,
    ClosedPort,
    add_remote,
    assert_fully_restored,
    clone,
    corrupt,
    corrupt_cache_objects,
    lock_hashes,
    md5,
    object_path,
    push,
    workspace_files,
)


def new_remote(tmp_path, server=None):
    """A remote to be created in ``tmp_path``: its folder, its URL and its `dvc remote modify` options.

    A folder remote without ``server``, else that SSH server's URL of the folder. SSH remotes get
    ``verify true``: DVC checks the hash of what it downloads only where that is set, and it is
    off by default for SSH (and S3); objects in a folder remote are always checked.
    """
    folder = tmp_path / "remote"
    if server is None:
        return folder, folder, {}
    return folder, server.url(folder), {"keyfile": server.keyfile, "verify": "true"}


def test_fresh_clone_pulls_every_output_from_a_folder_remote(publisher, tiny_repo, tmp_path):
    folder, url, options = new_remote(tmp_path)
    push(publisher, "folder-roundtrip", url, **options)
    repo = clone(tiny_repo, tmp_path / "clone")
    add_remote(repo, "storage", url, default=True, **options)
    dvc("pull", cwd=repo)
    assert_fully_restored(repo, tiny_repo)


def test_fresh_clone_pulls_every_output_over_ssh(publisher, tiny_repo, ssh_server, tmp_path):
    folder, url, options = new_remote(tmp_path, ssh_server)
    push(publisher, "ssh-roundtrip", url, **options)
    pushed = {path: object_path(folder, lock_hashes(tiny_repo)[path]).is_file() for path in CACHED_OUTPUTS}
    assert all(pushed.values()), pushed
    repo = clone(tiny_repo, tmp_path / "clone")
    add_remote(repo, "storage", url, default=True, **options)
    dvc("pull", cwd=repo)
    assert_fully_restored(repo, tiny_repo)
    assert "Accepted publickey" in ssh_server.log.read_text()


def test_shared_run_cache_restores_training_instead_of_rerunning_it(publisher, tiny_repo, tmp_path):
    """A clone that trained with a changed parameter, then reverted it, gets the origin's models back.

    Its dvc.lock then describes the changed run, so only the run cache (the record of the
    origin's run with these exact params, code and data) can bring the original models back.
    `dvc pull --run-cache` fetches those records; `dvc repro --pull` fetches the objects a record
    names and checks them out instead of running the stage.
    """
    folder, url, options = new_remote(tmp_path)
    push(publisher, "run-cache", url, **options)
    recorded = [yaml.safe_load(path.read_text())["cmd"] for path in (folder / "runs").glob("*/*/*")]
    assert any("python -m stages.train " in cmd for cmd in recorded), (
        "no run-cache record of the train stage was pushed. DVC records a run only if each output"
        " of the stage is cached or a metric or plot, and another clone can restore it only if each"
        " output was pushed, that is cached: train's outputs in dvc.yaml must not be `cache: false`"
    )
    repo = clone(tiny_repo, tmp_path / "clone")
    add_remote(repo, "storage", url, default=True, **options)
    dvc("pull", "data/dataset.npz", "data/inputs.npz", cwd=repo)  # what train reads
    epochs = yaml.safe_load((repo / "params.yaml").read_text())["autoencoder"]["epochs"]
    write_params(repo, {"autoencoder.epochs": epochs - 1 if epochs > 1 else epochs + 1})
    assert "Running stage 'train'" in dvc("repro", "--single-item", "train", cwd=repo).stdout
    write_params(repo, {"autoencoder.epochs": epochs})

    dvc("pull", "--run-cache", cwd=repo)
    output = dvc("repro", "--pull", cwd=repo).stdout

    assert "Stage 'train' is cached - skipping run, checking out outputs" in output, output
    assert "Running stage" not in output
    # The origin's very files, checked out from the run cache.
    origin = lock_hashes(tiny_repo)
    for model in ("models/encoder.keras", "models/decoder.keras"):
        assert md5(repo / model) == origin[model]
    assert_fully_restored(repo, tiny_repo)


@pytest.mark.parametrize("kind", ["folder", "ssh"])
def test_pull_of_a_corrupt_object_fails_and_damages_nothing(kind, publisher, tiny_repo, tmp_path, request):
    server = request.getfixturevalue("ssh_server") if kind == "ssh" else None
    folder, url, options = new_remote(tmp_path, server)
    push(publisher, f"corrupt-{kind}", url, **options)
    expected = lock_hashes(tiny_repo)
    corrupt(folder, expected["models/encoder.keras"])
    repo = clone(tiny_repo, tmp_path / "clone")
    add_remote(repo, "storage", url, default=True, **options)
    before = workspace_files(repo)

    result = dvc("pull", cwd=repo, check=False)

    assert result.returncode != 0
    assert "ERROR: failed to pull data from the cloud" in result.stderr, result.stderr
    assert "models/encoder.keras" in result.stderr, result.stderr
    after = workspace_files(repo)
    assert {path: after.get(path) for path in before} == before, "a file in the workspace changed"
    added = {path: digest for path, digest in after.items() if path not in before}
    assert added == {path: md5(tiny_repo / path) for path in added}, "an output was checked out with wrong contents"
    assert "models/encoder.keras" not in added
    assert corrupt_cache_objects(repo) == []
    status = dvc("status", cwd=repo).stdout
    assert "not in cache" in status and "models/encoder.keras" in status, status


def test_missing_remote_fails_clearly_and_changes_nothing(tiny_repo, tmp_path):
    repo = clone(tiny_repo, tmp_path / "clone")
    before = workspace_files(repo)
    for command in ("pull", "push"):
        result = dvc(command, "-r", "nowhere", cwd=repo, check=False)
        assert result.returncode != 0 and "remote 'nowhere' doesn't exist" in result.stderr, result.stderr
    result = dvc("pull", cwd=repo, check=False)
    assert result.returncode != 0 and "no default remote set" in result.stderr, result.stderr
    assert workspace_files(repo) == before


def test_unreachable_ssh_remote_fails_clearly_and_changes_nothing(publisher, tiny_repo, tmp_path):
    repo = clone(tiny_repo, tmp_path / "clone")
    before = workspace_files(repo)
    with ClosedPort() as closed:
        url = f"ssh://127.0.0.1:{closed.port}{(tmp_path / 'unreachable').as_posix()}"
        add_remote(repo, "unreachable", url)
        add_remote(publisher, "unreachable", url)
        pulled = dvc("pull", "-r", "unreachable", cwd=repo, check=False)
        pushed = dvc("push", "-r", "unreachable", cwd=publisher, check=False)
    for result in (pulled, pushed):
        assert result.returncode != 0 and "Connect call failed" in result.stderr, result.stderr
    assert workspace_files(repo) == before
    assert corrupt_cache_objects(publisher) == []
    assert "in sync" in dvc("status", "--cloud", "-r", "origin-cache", cwd=publisher).stdout
