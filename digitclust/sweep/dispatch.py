"""Dispatch of a sweep's experiments on its cluster: submit, retry once elsewhere, log their progress."""

import dataclasses
import logging
import tempfile
import zipfile
from collections import Counter, defaultdict, deque
from pathlib import Path

import digitclust
from digitclust import sweep as sweep_package
from digitclust.sweep import cluster
from digitclust.sweep import task as sweep_task
from digitclust.sweep.cluster import RETRIES
from digitclust.sweep.errors import first_line

log = logging.getLogger("digitclust.sweep")


class Progress:
    """What the tasks report (Dask events): their starts, failures and last lines; logs each as it comes."""

    def __init__(self):
        self.tails = defaultdict(lambda: deque(maxlen=sweep_task.TAIL_LINES))
        self.last_attempt = {}  # name -> {"host": ..., "worker": ..., "failed": ...}

    def on_event(self, event):
        _, message = event
        getattr(self, f"_{message['kind']}")(message)

    def _line(self, message):
        self.tails[message["name"]].append(message["line"])

    def _started(self, message):
        name, previous = message["name"], self.last_attempt.get(message["name"])
        if previous and not previous["failed"]:
            log.warning("%s: its worker on %s was lost; last lines there:\n%s", name, previous["host"], self.tail(name))
        if previous:
            log.info("%s: retry on %s", name, message["host"])
        self.last_attempt[name] = {"host": message["host"], "worker": message["worker"], "failed": False}
        self.tails[name].clear()
        log.info("%s: started on %s (worker %s) in %s", name, message["host"], message["worker"], message["folder"])

    def _failed(self, message):
        self.last_attempt[message["name"]]["failed"] = True
        log.warning("%s failed: %s", message["name"], message["reason"])

    def tail(self, name):
        """The last lines of ``name``'s task, indented."""
        return "\n".join(f"    {line}" for line in self.tails[name])


def ship_task_code(client):
    """Give every worker, present and future, ``digitclust.sweep.task`` (Dask's ``upload_file``).

    A worker so needs the venv, not a checkout of this project.
    """
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "digitclust_sweep_task.zip"
        with zipfile.ZipFile(archive, "w") as package:
            for module in (digitclust, sweep_package, sweep_task):  # the lazy API and the task, no more
                package.write(module.__file__, Path(module.__file__).relative_to(Path(digitclust.__file__).parents[1]))
        client.upload_file(str(archive))


def report(future, name, progress):
    """Log how the task of experiment ``name`` ended; return True if it finished."""
    from distributed import KilledWorker

    if future.status == "finished":
        result = future.result()
        log.info("%s: finished on %s in %.0f s", name, result["host"], result["seconds"])
        return True
    error = future.exception()
    if isinstance(error, sweep_task.ExperimentFailed):
        log.error(
            "%s: gave up after %d tries, the last: `%s` exited %d on %s",
            name,
            RETRIES + 1,
            error.command,
            error.returncode,
            error.host,
        )
    elif isinstance(error, KilledWorker):
        log.error("%s: gave up: its worker died %d times; last lines:\n%s", name, RETRIES + 1, progress.tail(name))
    else:
        log.error("%s: gave up: %s: %s", name, type(error).__name__, first_line(error))
    return False


def submit(client, experiment, avoid=None):
    """Submit the task of ``experiment``; a retry goes to a worker other than ``avoid``, where there is one."""
    others = [address for address in client.scheduler_info(n_workers=-1)["workers"] if address != avoid]
    elsewhere = (
        {"workers": others, "allow_other_workers": True} if avoid and others else {}
    )  # a preference: never stuck
    attempt = "retry" if avoid else "first"
    return client.submit(sweep_task.run_experiment, experiment, key=f"sweep-{experiment.name}-{attempt}", **elsewhere)


def failed_command(future):
    """Whether the task of ``future`` ended with a command of its experiment failing (not its worker dying)."""
    return future.status == "error" and isinstance(future.exception(), sweep_task.ExperimentFailed)


def dispatch(experiments, args):
    """Run ``experiments`` on the cluster; return the names of those that finished.

    A task whose command fails is submitted ``RETRIES`` more times, each to another worker where
    there is one; Dask itself reruns elsewhere the task of a worker that died (``allowed-failures``).
    """
    cluster.quiet_dask()
    from distributed import as_completed

    with cluster.cluster_client(args) as (client, dvc_config_file):
        ship_task_code(client)
        if dvc_config_file:  # the hosts have it, with its credentials: the tasks carry them no more
            experiments = [
                dataclasses.replace(each, dvc_config="", dvc_config_file=dvc_config_file) for each in experiments
            ]
        workers = client.scheduler_info(n_workers=-1)["workers"]
        address = client.scheduler.address
        log.info(
            "scheduler at %s, %s",
            address,
            "over TLS, mutual authentication"
            if address.startswith("tls://")
            else "over plain TCP (--insecure): unauthenticated, unencrypted",
        )
        log.info(
            "dispatching %d experiments to %d workers: %s",
            len(experiments),
            len(workers),
            ", ".join(f"{w['host']} ({address})" for address, w in workers.items()),
        )
        progress = Progress()
        client.subscribe_topic(sweep_task.TOPIC, progress.on_event)
        experiment_of = {submit(client, experiment): experiment for experiment in experiments}
        tries, finished = Counter(), []
        running = as_completed(experiment_of)
        for future in running:
            experiment = experiment_of[future]
            tries[experiment.name] += 1
            if failed_command(future) and tries[experiment.name] <= RETRIES:
                failed_on = progress.last_attempt.get(experiment.name, {}).get("worker")
                retry = submit(client, experiment, avoid=failed_on)
                experiment_of[retry] = experiment
                running.add(retry)
            elif report(future, experiment.name, progress):
                finished.append(experiment.name)
        client.unsubscribe_topic(sweep_task.TOPIC)
    return finished
