"""The credentials on the hosts: each host gets the keys of its roles only, over SSH, and loses them at the end.

A host's files go through the SSH connection's input, never a command line, into a folder of its
home that only the user can read. They are deleted from every host however the sweep ends: an
exception, SIGINT, SIGTERM or SIGHUP at any moment (``interruptible``), and a signal that comes while
they are being shipped or deleted waits until that is done (``signals_held``).
"""

import asyncio
import contextlib
import logging
import secrets
import shlex
import signal

from digitclust.sweep.errors import REMOTE_TIMEOUT_S, SweepError, first_line

log = logging.getLogger("digitclust.sweep")

# Where a sweep's credentials go on each host: a folder of the home the SSH sessions (and so Dask's
# processes) start in, the same relative path on every host, readable by the user only.
TLS_FOLDER_PREFIX = ".digitclust-sweep-tls-"
SCRATCH = "scratch"  # the workers' scratch space (Dask's local_directory), inside that folder
DVC_CONFIG = "dvc-config.local"  # the DVC remote's config, with its credentials, for the tasks to copy
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP reached the driver; unwinds as Ctrl-C does, so that every cleanup runs."""

    def __init__(self, number):
        super().__init__(number)
        self.name = signal.Signals(number).name


def _raise(number, frame):
    raise Interrupted(number)


@contextlib.contextmanager
def interruptible():
    """Within: SIGINT, SIGTERM and SIGHUP raise Interrupted in the main thread, which unwinds the sweep.

    Once an exception has unwound it, every cleanup has run: further signals are ignored until the
    process exits, so that its exit status and last line stay those of the first.
    """
    previous = {number: signal.signal(number, _raise) for number in SIGNALS}
    try:
        yield
    except BaseException:
        for number in SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        raise
    for number, handler in previous.items():
        signal.signal(number, handler)


@contextlib.contextmanager
def signals_held():
    """Within: SIGINT, SIGTERM and SIGHUP are noted, not acted on; the first is raised as Interrupted after."""
    held = []
    previous = {number: signal.signal(number, lambda number, frame: held.append(number)) for number in SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if held:
        raise Interrupted(held[0])


def on_hosts(hosts, connect_options, run):
    """Await ``run(connection, host)`` on an SSH connection (asyncssh, as SSHCluster's) to each of ``hosts`` at once.

    Returns ``{host: exception}`` for the hosts where it failed.
    """
    import asyncssh

    async def on(host):
        async with asyncssh.connect(host, **connect_options) as connection:
            await run(connection, host)

    async def everywhere():
        tries = [asyncio.wait_for(on(host), REMOTE_TIMEOUT_S) for host in hosts]
        results = await asyncio.gather(*tries, return_exceptions=True)
        return {host: result for host, result in zip(hosts, results, strict=True) if isinstance(result, BaseException)}

    return asyncio.run(everywhere())


def ship(files, connect_options, folder, reached):
    """Write each host's files (``{host: {name: text}}``) into ``folder`` of its home, readable by the user only.

    The texts go through the SSH connection's input, never a command line: `ps` on a host shows no key.
    Each host that a connection reached is added to the set ``reached``, before anything is written
    there. Signals wait until every host is done. SweepError names a host that could not be reached.
    """
    target = shlex.quote(folder)

    async def write(connection, host):
        reached.add(host)
        await connection.run(f"umask 077 && mkdir -p -- {target}/{SCRATCH} && chmod 700 -- {target}", check=True)
        for name, text in files[host].items():
            await connection.run(f"umask 077 && cat > {target}/{shlex.quote(name)}", input=text, check=True)

    with signals_held():
        failed = on_hosts(list(files), connect_options, write)
    if failed:
        host, error = next(iter(failed.items()))
        raise SweepError(
            f"--hosts {' '.join(files)}: could not start or reach Dask there ({host}: {first_line(error)})"
        )


def remove(hosts, connect_options, folder):
    """Delete ``folder`` on each host, signals held meanwhile; log those where it could not be (a host that died)."""

    async def delete(connection, host):
        await connection.run(f"rm -rf -- {shlex.quote(folder)}", check=True)

    with signals_held():
        for host, error in on_hosts(hosts, connect_options, delete).items():
            log.warning(
                "could not delete the sweep's TLS keys on %s (%s): delete ~/%s there", host, first_line(error), folder
            )


def host_files(credentials, scheduler_host, worker_hosts, dvc_config):
    """``{host: {name: text}}``: the CA everywhere, the scheduler's key on its host, a worker's key and the DVC
    remote's config on each worker host."""
    files = {host: {"ca.pem": credentials["ca"]} for host in dict.fromkeys([scheduler_host, *worker_hosts])}
    files[scheduler_host]["scheduler.pem"] = credentials["scheduler"]
    for host in worker_hosts:
        files[host].update({"worker.pem": credentials["workers"][host], DVC_CONFIG: dvc_config})
    return files


@contextlib.contextmanager
def credentials_on_hosts(files, connect_options):
    """Ship ``files`` (``host_files``) to the hosts; yield the folder they are in (relative to home); delete it after.

    Deleted from every host that shipping reached, whatever ends the block, shipping included.
    """
    folder, reached = TLS_FOLDER_PREFIX + secrets.token_hex(8), set()
    try:
        ship(files, connect_options, folder, reached)
        yield folder
    finally:
        if reached:
            remove([host for host in files if host in reached], connect_options, folder)
