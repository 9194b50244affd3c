"""A queued sweep: `dvc exp run --queue -S ...`, `dvc queue start -j 2`, `dvc exp show` sorted by purity."""

import csv
import io
import subprocess
import sys
import time

import pytest

from helpers import dvc, environment
from remote_helpers import clone, fetch_from_origin

PURITY = "metrics/autoencoder_kmeans.json:purity.test"
# Two experiments by name, run up to TARGET (the metrics): kmeans.n_init reruns only baseline,
# cluster and evaluate, and without UMAP (FIXED for both) cluster takes about a second.
SWEEP = {"n-init-1": "kmeans.n_init=1", "n-init-3": "kmeans.n_init=3"}
FIXED = "cluster.manifold=none"
TARGET = "evaluate"


@pytest.fixture
def repo(tiny_repo, tmp_path):
    """A clone of ``tiny_repo`` with the run's objects in its cache, where queued runs take their inputs."""
    repo = clone(tiny_repo, tmp_path / "clone")
    fetch_from_origin(repo, tiny_repo)
    yield repo
    dvc("queue", "stop", "--kill", cwd=repo, check=False)


def queue_status(repo):
    """Map each task name in `dvc queue status` to its status (Queued, Running, Success, Failed...)."""
    lines = dvc("queue", "status", cwd=repo).stdout.splitlines()
    rows = [line.split() for line in lines[1:] if line.strip() and not line.startswith("Worker status")]
    return {row[1]: row[-1] for row in rows}


def wait_for_queue(repo, names, timeout=300, poll=5):
    """Wait until every task in ``names`` has finished; return their statuses."""
    deadline = time.monotonic() + timeout
    while True:
        status = queue_status(repo)
        if all(status.get(name) not in (None, "Queued", "Running") for name in names):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"the queue did not finish within {timeout} s: {status}")
        time.sleep(poll)


def sorted_experiments(repo):
    """The rows of `dvc exp show --csv`, sorted by test purity of the autoencoder, best first."""
    shown = dvc("exp", "show", "--csv", "--sort-by", PURITY, "--sort-order", "desc", cwd=repo).stdout
    return list(csv.DictReader(io.StringIO(shown)))


def start_queue(repo, workers):
    # The workers inherit the command's output and may outlive it: capturing it would wait for them.
    subprocess.run(
        [sys.executable, "-m", "dvc", "queue", "start", "-j", str(workers)],
        cwd=repo,
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )


def test_queued_sweep_runs_both_experiments_and_shows_them_by_purity(repo):
    for name, override in SWEEP.items():
        dvc("exp", "run", "--queue", "--name", name, "-S", override, "-S", FIXED, TARGET, cwd=repo)
    start_queue(repo, 2)

    status = wait_for_queue(repo, SWEEP)

    failed = [name for name in SWEEP if status[name] != "Success"]
    assert not failed, "\n".join(dvc("queue", "logs", name, cwd=repo, check=False).stdout for name in failed)
    rows = [row for row in sorted_experiments(repo) if row["Experiment"] in SWEEP]
    assert {row["Experiment"]: row["kmeans.n_init"] for row in rows} == {"n-init-1": "1", "n-init-3": "3"}
    purities = [float(row[PURITY]) for row in rows]
    assert all(0 < purity <= 1 for purity in purities)
    assert purities == sorted(purities, reverse=True)


def test_a_queued_experiment_runs_the_code_of_its_own_snapshot(repo):
    dvc("exp", "run", "--queue", "--name", "snapshot", "-S", "kmeans.n_init=1", "-S", FIXED, TARGET, cwd=repo)
    metrics = repo / "digitclust" / "method" / "metrics.py"
    edited = metrics.read_text().replace('"purity": purity(table),', '"purity": -1.0,')
    assert edited != metrics.read_text()
    metrics.write_text(edited)  # after queueing: the experiment's snapshot has the original code
    start_queue(repo, 1)

    status = wait_for_queue(repo, ["snapshot"])

    assert status["snapshot"] == "Success", dvc("queue", "logs", "snapshot", cwd=repo, check=False).stdout
    row = next(row for row in sorted_experiments(repo) if row["Experiment"] == "snapshot")
    assert 0.3 < float(row[PURITY]) <= 1
    assert float(row["metrics/baseline.json:purity.test"]) > 0.3
