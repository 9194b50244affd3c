"""One experiment of a sweep, run as a Dask task on a worker: clone, pull, `dvc exp run`, `dvc exp push`.

The driver uploads this module to the workers (Dask's ``Client.upload_file``), so it imports only
the standard library and Dask: a worker needs the venv, not a checkout of this project. Every line the commands
print goes to ``sweep.log`` in the experiment's clone and, as a Dask event of topic ``TOPIC``, to
the driver, which so knows the last lines of a task even when its worker has died.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

TOPIC = "digitclust-sweep"
TAIL_LINES = 20
LOG_NAME = "sweep.log"
# The password of a URL (scheme://user:password@host/...), as a log shows it.
PASSWORD = re.compile(r"(://[^/@:\s]*):[^/@\s]*@")


def masked(text):
    """``text`` with the password of any URL in it replaced by ``***``."""
    return PASSWORD.sub(r"\1:***@", text)


@dataclass(frozen=True)
class Experiment:
    """What a worker needs to run one experiment and push it to both remotes."""

    name: str
    overrides: tuple  # `dvc exp run -S` values: ("seed=0", "kmeans.n_init=3")
    git_remote: str
    rev: str  # the baseline commit, on the Git remote
    dvc_remote: str  # its URL, password masked: for the log only
    dvc_config: str  # the text of the clone's .dvc/config.local (the remote and its options), or ""
    dvc_config_file: str | None  # else the file on the worker's host that holds it, relative to its home
    targets: tuple  # the stages `dvc exp run` reproduces; all when empty
    workdir: str  # where the clones go on each worker; ~ is the worker's home


class ExperimentFailed(Exception):
    """A command of an experiment's task exited non-zero; carries the last lines it printed."""

    def __init__(self, host, command, returncode, tail):
        super().__init__(host, command, returncode, tail)
        self.host, self.command, self.returncode, self.tail = host, command, returncode, tail

    def __str__(self):
        lines = "\n".join(f"    {line}" for line in self.tail)
        return f"`{self.command}` exited {self.returncode} on {self.host}; last lines:\n{lines}"


def _publish(message):
    """Send ``message`` to the driver as a Dask event (``Client.subscribe_topic``)."""
    from distributed import get_worker

    get_worker().log_event(TOPIC, message)


class TaskLog:
    """The task's log: ``sweep.log`` in its folder, the driver's events and the tail kept for an exception."""

    def __init__(self, name, path):
        self.name, self.path, self.tail = name, path, deque(maxlen=TAIL_LINES)

    def event(self, kind, **fields):
        _publish({"name": self.name, "kind": kind, **fields})

    def line(self, text):
        text = text.rstrip()
        self.tail.append(text)
        with open(self.path, "a") as log:
            log.write(text + "\n")
        self.event("line", line=text)


def checkout(experiment):
    """The commands that make the experiment's clone, each with the text its log shows."""
    yield _shown(["git", "clone", "--quiet", "--no-checkout", "--", experiment.git_remote, "."])
    yield _shown(["git", "checkout", "--quiet", "--detach", experiment.rev])


def commands(experiment):
    """The commands of one experiment, run in order in its clone once its DVC remote is set.

    Every value from the command line comes after ``--``: no program takes it for one of its options.
    """
    dvc = [sys.executable, "-m", "dvc"]
    sets = [argument for override in experiment.overrides for argument in ("-S", override)]
    # The baseline's outputs and every pushed run record: stages run before, anywhere, are restored.
    yield _shown([*dvc, "pull", "--run-cache", "--allow-missing"])
    yield _shown([*dvc, "exp", "run", "--pull", "--name", experiment.name, *sets, "--", *experiment.targets])
    yield _shown([*dvc, "exp", "push", "--run-cache", "--", experiment.git_remote, experiment.name])


def _shown(command):
    return command, masked(" ".join(command))


def write_dvc_config(experiment, repo, log):
    """Write the clone's ``.dvc/config.local`` (mode 0600): the DVC remote, its options, credentials included.

    Its text comes from the file the driver shipped to this host over SSH, or else with the task;
    never through a command line.
    """
    text = experiment.dvc_config
    if experiment.dvc_config_file:
        text = Path(experiment.dvc_config_file).read_text()  # relative to where the worker started: its home
    path = repo / ".dvc" / "config.local"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as config:
        config.write(text)
    log.line(f"$ (the DVC remote sweep, {experiment.dvc_remote}, with its options, written to .dvc/config.local)")


def command_environment():
    """This environment with this interpreter's folder first on PATH: the stages' `python` is the venv's."""
    return {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}


def run_logged(command, shown, folder, log, host):
    """Run ``command`` (``shown`` in the log) in ``folder``, each line of its output to ``log``.

    Raises ExperimentFailed if it fails.
    """
    log.line(f"$ {shown}")
    with subprocess.Popen(
        command,
        cwd=folder,
        env=command_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    ) as process:
        for text in process.stdout:
            log.line(text)
    if process.returncode != 0:
        raise ExperimentFailed(host, shown, process.returncode, list(log.tail))


def run_experiment(experiment):
    """Run ``experiment`` in a fresh clone under its workdir and push it; return where and how long.

    The task's folder holds the clone (``repo``) and ``sweep.log``; it is deleted once the
    experiment is pushed, and a failed one stays.
    """
    from distributed import get_worker

    host = socket.gethostname()
    workdir = Path(os.path.expanduser(experiment.workdir))
    workdir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{experiment.name}-", dir=workdir))
    log = TaskLog(experiment.name, folder / LOG_NAME)
    log.event("started", host=host, worker=get_worker().address, folder=str(folder))
    began = time.monotonic()
    repo = folder / "repo"
    repo.mkdir()
    try:
        for command, shown in checkout(experiment):
            run_logged(command, shown, repo, log, host)
        write_dvc_config(experiment, repo, log)
        for command, shown in commands(experiment):
            run_logged(command, shown, repo, log, host)
    except ExperimentFailed as failure:
        log.event("failed", host=host, reason=str(failure))
        raise
    shutil.rmtree(folder)
    return {"name": experiment.name, "host": host, "seconds": time.monotonic() - began}
