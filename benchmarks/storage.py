"""What one default run stores and ships, in this checkout's format and in an earlier commit's.

For each of the two, in a scratch DVC project with an empty cache: `dvc repro` of the whole
pipeline (fetch included), then the size of every cached output, how much the DVC cache
grew, the wall time of `dvc push` to a new local-folder remote, and of `dvc pull` from it
into a copy of the project with an empty cache. Prints the two side by side, and whether
the metrics are byte for byte the same.

    python benchmarks/storage.py                      # against the format before compression
    python benchmarks/storage.py --previous <commit>  # against any commit's format
    python benchmarks/storage.py -S data.train_size=6000 -S data.test_size=1000  # quicker

Both runs share the machine, one after the other, so their times compare.
"""

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml

from pipeline import ROOT, OneLineParser, add_set_option, checked_changes, scored_methods, write_changes

# The last commit whose outputs were written uncompressed, with the optimizer's state in the autoencoder.
PREVIOUS_FORMAT = "98c4979"
PROJECT_FILES = ("dvc.yaml", "params.yaml", "stages", "digitclust", "inputs")
MIB = 2**20


def dvc(*args, cwd):
    """Run a DVC command in ``cwd`` with this interpreter; exit with one line if it fails."""
    # PYTHONPATH: commits from before the stages ran as modules import the package from there.
    env = {
        **os.environ,
        "PYTHONPATH": str(cwd),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        sys.exit(f"error: dvc {' '.join(args)} failed in {cwd}: {lines[-1]}")
    return result.stdout


def folder_bytes(folder):
    """Total size of the files under ``folder``."""
    return sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file())


def cached_outputs(project):
    """The outputs that ``project``'s dvc.yaml, as DVC renders it, leaves in DVC's cache (not ``cache: false``)."""
    from dvc.repo import Repo

    with Repo(str(project)) as repo:
        return {out.def_path for stage in repo.index.stages for out in stage.outs if out.use_cache}


def project_at(revision, folder):
    """Write the project files of git ``revision`` (None: this checkout as it is) into ``folder``."""
    folder.mkdir(parents=True)
    if revision is None:
        for name in PROJECT_FILES:
            source = ROOT / name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, folder / name)
        return
    archive = subprocess.run(["git", "archive", revision, *PROJECT_FILES], cwd=ROOT, capture_output=True)
    if archive.returncode != 0:
        sys.exit(f"error: git archive {revision}: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")


def measure(revision, changes, scratch):
    """Run, push and pull the pipeline of ``revision``; return its figures and metrics file."""
    project, copy, remote = scratch / "project", scratch / "pulled", scratch / "remote"
    project_at(revision, project)
    write_changes(project, changes)
    dvc("init", "--no-scm", "-q", cwd=project)
    cache_before = folder_bytes(project / ".dvc" / "cache")
    began = time.perf_counter()
    dvc("repro", cwd=project)
    repro_seconds = time.perf_counter() - began
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    cached = cached_outputs(project)
    sizes = {
        out["path"]: out["size"]
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
        if out["path"] in cached
    }
    dvc("remote", "add", "-d", "local", str(remote), cwd=project)
    began = time.perf_counter()
    dvc("push", cwd=project)
    push_seconds = time.perf_counter() - began

    project_at(revision, copy)
    write_changes(copy, changes)
    dvc("init", "--no-scm", "-q", cwd=copy)
    shutil.copy2(project / "dvc.lock", copy / "dvc.lock")
    dvc("remote", "add", "-d", "local", str(remote), cwd=copy)
    began = time.perf_counter()
    dvc("pull", cwd=copy)
    pull_seconds = time.perf_counter() - began
    figures = {
        "outputs": sizes,
        "cache growth": folder_bytes(project / ".dvc" / "cache") - cache_before,
        "remote": folder_bytes(remote),
        "dvc repro": repro_seconds,
        "dvc push": push_seconds,
        "dvc pull": pull_seconds,
    }
    return figures, b"".join(
        (project / "metrics" / f"{method}.json").read_bytes() for method in scored_methods(project)
    )


def print_table(previous, current, revision):
    paths = list(dict.fromkeys([*previous["outputs"], *current["outputs"]]))
    print(f"| | format of {revision} | this checkout |")
    print("| --- | --- | --- |")
    for path in paths:
        cells = [
            f"{run['outputs'][path] / MIB:.2f} MiB" if path in run["outputs"] else "-" for run in (previous, current)
        ]
        print(f"| `{path}` | {cells[0]} | {cells[1]} |")
    for key in ("cache growth", "remote"):
        print(f"| {key} | {previous[key] / MIB:.1f} MiB | {current[key] / MIB:.1f} MiB |")
    for key in ("dvc repro", "dvc push", "dvc pull"):
        print(f"| {key} | {previous[key]:.1f} s | {current[key]:.1f} s |")


def main():
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--previous", default=PREVIOUS_FORMAT, help="the commit whose format to compare with")
    add_set_option(parser)
    args = parser.parse_args()
    changes = checked_changes(dict(args.set))
    known = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{args.previous}^{{commit}}"], cwd=ROOT, capture_output=True
    )
    if known.returncode != 0:
        parser.error(f"--previous {args.previous}: not a commit of this repository")
    with tempfile.TemporaryDirectory() as scratch:
        results = {}
        for label, revision in (("previous", args.previous), ("current", None)):
            print(f"running the pipeline of {revision or 'this checkout'}", flush=True)
            results[label] = measure(revision, changes, Path(scratch) / label)
    (previous, previous_metrics), (current, current_metrics) = results["previous"], results["current"]
    print_table(previous, current, args.previous)
    print(f"metrics byte-identical: {previous_metrics == current_metrics}")


if __name__ == "__main__":
    main()
