"""The Git and DVC remotes, as the driver sees them: the baseline there, the experiments already pushed."""

import subprocess

from digitclust.sweep.errors import REMOTE_TIMEOUT_S, SweepError, first_line
from digitclust.sweep.task import masked


def _git(*args, text=True):
    return subprocess.run(["git", *args], capture_output=True, text=text, timeout=REMOTE_TIMEOUT_S)


def baseline(rev):
    """The full hash of ``rev`` in the current repository and its params.yaml (bytes)."""
    commit = _git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if commit.returncode != 0:
        raise SweepError(f"--rev {rev}: no such commit here; run the sweep from a clone of the project")
    sha = commit.stdout.strip()
    return sha, _git("show", f"{sha}:params.yaml", text=False).stdout


def remote_refs(git_remote):
    """Map each ref on ``git_remote`` to its commit; SweepError if it cannot be listed."""
    try:
        listing = _git("ls-remote", "--", git_remote)
    except subprocess.TimeoutExpired:
        listing = subprocess.CompletedProcess([], 1, "", f"no answer within {REMOTE_TIMEOUT_S} s")
    if listing.returncode != 0:
        reason = masked(" ".join(listing.stderr.split())) or f"git ls-remote exited {listing.returncode}"
        raise SweepError(
            f"--git-remote {masked(git_remote)}: unreachable ({reason}); give a Git URL every host can reach"
        )
    return {ref: sha for sha, ref in (line.split("\t") for line in listing.stdout.splitlines())}


def experiments_on_remote(refs, sha):
    """Names of the experiments of baseline ``sha`` among ``refs`` (DVC keeps them in refs/exps/ab/cdef.../name)."""
    prefix = f"refs/exps/{sha[:2]}/{sha[2:]}/"
    return {ref.removeprefix(prefix) for ref in refs if ref.startswith(prefix)}


def check_baseline_pushed(refs, sha, git_remote):
    """Raise SweepError unless commit ``sha`` is the tip of a branch or tag among ``refs``."""
    if sha not in refs.values():
        raise SweepError(
            f"--git-remote {masked(git_remote)}: commit {sha[:7]} is not the tip of a branch or tag there;"
            f" push it first, e.g. git push {masked(git_remote)} HEAD:refs/heads/sweep"
        )


def check_dvc_remote(url, options):
    """Raise SweepError unless the DVC remote at ``url`` (with `dvc remote modify` ``options``) answers."""
    from dvc.fs import get_cloud_fs

    try:
        cls, config, path = get_cloud_fs(None, url=url, **dict(options))
        cls(**config).exists(path)
    except Exception as error:  # noqa: BLE001 - any filesystem's failure, as one line
        raise SweepError(
            f"--dvc-remote {masked(url)}: unreachable ({masked(first_line(error))}); give a DVC remote URL every"
            " host can reach, with its options as --dvc-remote-option key=value"
        ) from None
