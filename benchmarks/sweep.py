"""The same small sweep on one Dask worker and on two, side by side: wall times and their ratio.

Builds a scratch project with small params (2,000 train and 500 test images, as the tests use),
runs its pipeline once and pushes that run to a bare Git repository and a DVC remote folder. Then
runs `python -m digitclust.sweep` on a local Dask cluster (one process per worker, one thread each)
of one worker and then of two, each time against fresh copies of both remotes, so that the second
sweep skips nothing. Every experiment reproduces the stages up to ``--target``.

    python benchmarks/sweep.py                             # -S seed=1,2,3,4 up to evaluate
    python benchmarks/sweep.py -S 'seed=0,1' -S 'autoencoder.code_size=10,32' --target report

The workers share this machine's cores, so the speed-up it measures is bounded by them; on
separate hosts each experiment has a machine to itself.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline import OneLineParser, prepared_copy

SMALL = {
    "data.train_size": "2000",
    "data.test_size": "500",
    "kmeans.n_init": "2",
    "autoencoder.epochs": "20",
    "autoencoder.batch_size": "64",
    "cluster.umap.n_components": "5",
}
ENVIRONMENT = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
}


def run(command, cwd):
    """Run ``command`` in ``cwd``; exit with its output if it fails."""
    result = subprocess.run(command, cwd=cwd, env=ENVIRONMENT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(map(str, command))} failed:\n{result.stdout}{result.stderr}")
    return result


def commit(project, message):
    run(["git", "add", "-A"], project)
    run(["git", "-c", "user.name=benchmark", "-c", "user.email=benchmark@localhost", "commit", "-qm", message], project)


def published_project(folder):
    """A small project in ``folder``/project whose committed run is in ``folder``/project.git and ``folder``/dvc."""
    project = folder / "project"
    project.mkdir()
    prepared_copy(project, SMALL, git=True)
    dvc = [sys.executable, "-m", "dvc"]
    run([*dvc, "commit", "--force", "fetch"], project)  # the copied dataset as the fetch stage's output
    commit(project, "small params")  # DVCLive, in the train stage, needs a commit
    print("running the small pipeline once, as the sweep's baseline", flush=True)
    run([*dvc, "repro"], project)
    commit(project, "small run")
    run(["git", "init", "-q", "--bare", str(folder / "project.git")], folder)
    run(["git", "push", "-q", str(folder / "project.git"), "HEAD:refs/heads/main"], project)
    run([*dvc, "remote", "add", "--local", "storage", str(folder / "dvc")], project)
    run([*dvc, "push", "--run-cache", "--remote", "storage"], project)
    return project


def timed_sweep(folder, project, workers, grid, target):
    """Run the sweep ``grid`` on a local cluster of ``workers`` against fresh copies of the remotes; return seconds."""
    from distributed import LocalCluster

    run_folder = folder / f"{workers}-workers"
    shutil.copytree(folder / "project.git", run_folder / "project.git")
    shutil.copytree(folder / "dvc", run_folder / "dvc")
    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cluster:
        command = [
            sys.executable,
            "-m",
            "digitclust.sweep",
            *(f"-S{values}" for values in grid),
            "--scheduler",
            cluster.scheduler_address,
            "--git-remote",
            str(run_folder / "project.git"),
            "--dvc-remote",
            str(run_folder / "dvc"),
            "--workdir",
            str(run_folder / "work"),
            "--target",
            target,
        ]
        began = time.perf_counter()
        log = run(command, project).stderr
        seconds = time.perf_counter() - began
    (run_folder / "sweep.log").write_text(log)
    print(log, end="", flush=True)
    return seconds


def main():
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-S", "--set-param", dest="grid", action="append", help="`dvc exp run -S` values of the grid")
    parser.add_argument("--target", default="evaluate", help="stage each experiment reproduces (default: evaluate)")
    args = parser.parse_args()
    grid = args.grid or ["seed=1,2,3,4"]  # not the baseline's seed 0, which the run cache would restore
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        project = published_project(folder)
        seconds = {workers: timed_sweep(folder, project, workers, grid, args.target) for workers in (1, 2)}
    print(f"\nsweep -S {' -S '.join(grid)} up to {args.target}, on {os.cpu_count()} CPU cores")
    print("| workers | wall time |\n| --- | --- |")
    for workers, value in seconds.items():
        print(f"| {workers} | {value:.0f} s |")
    print(f"speed-up of two workers over one: {seconds[1] / seconds[2]:.2f}")


if __name__ == "__main__":
    main()
