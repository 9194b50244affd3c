"""The Dask cluster of a sweep: an SSHCluster on ``--hosts``, or the scheduler at ``--scheduler``, over TLS.

The driver reads each remote process's output to its end for as long as it runs (``drained_classes``):
Dask's SSHCluster reads it only until the process names its address, and a process whose output
nobody reads blocks on its next log line, such as the warning of each failed TLS handshake.
"""

import asyncio
import contextlib
import logging
import sys

from digitclust.sweep import certificates, hosts
from digitclust.sweep.errors import REMOTE_TIMEOUT_S, SweepError, first_line

log = logging.getLogger("digitclust.sweep")

# Dask's own fault handling: a failed task runs once more, and so does the task of a worker that died.
RETRIES = 1
# The driver's Dask config, which SSHCluster passes on to the scheduler it starts.
DASK_CONFIG = {"distributed.scheduler.allowed-failures": RETRIES}
QUIET_LOGGERS = ("distributed", "asyncssh", "tornado")
# SSHCluster's scheduler and workers stop by themselves after this long without work or scheduler,
# should the driver that started them die without closing them.
ORPHAN_TIMEOUT_S = 300
# Dask's own HTTP routes (health, metrics, dashboard): none are served unless --dashboard asks.
NO_HTTP_ROUTES = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}
READ_SIZE = 1 << 16


def quiet_dask():
    """Set Dask's fault handling and silence the INFO logging of Dask and asyncssh (which importing Dask sets)."""
    import dask
    import distributed  # noqa: F401 - sets its loggers' levels when first imported

    dask.config.set(DASK_CONFIG)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


async def _drain(stream):
    """Read ``stream`` (a remote process's output, over SSH) to its end, dropping what it says."""
    while await stream.read(READ_SIZE):
        pass


def drained_classes():
    """SSHCluster's Scheduler and Worker, whose output the driver goes on reading once they have started."""
    from distributed.deploy import ssh

    class Drained:
        async def start(self):
            await super().start()
            self.drains = [asyncio.ensure_future(_drain(each)) for each in (self.proc.stdout, self.proc.stderr)]

    class Scheduler(Drained, ssh.Scheduler):
        pass

    class Worker(Drained, ssh.Worker):
        pass

    return Scheduler, Worker


def ssh_cluster(addresses, connect_options, scheduler_options, worker_options, remote_python, security):
    """Dask's SSHCluster, scheduler on ``addresses[0]`` and a worker on each other, with drained output."""
    from distributed import SpecCluster

    scheduler_class, worker_class = drained_classes()
    common = {"connect_options": connect_options, "remote_python": remote_python}
    scheduler = {"cls": scheduler_class, "options": {"address": addresses[0], "kwargs": scheduler_options, **common}}
    workers = {
        i: {"cls": worker_class, "options": {"address": host, "kwargs": worker_options, **common}}
        for i, host in enumerate(addresses[1:])
    }
    return SpecCluster(workers, scheduler, name="SSHCluster", security=security)


def remote_tls_config(folder):
    """The Dask config of the hosts' processes: TLS required, with the credentials in ``folder`` (relative to home).

    Each host has only the files of its roles: the scheduler's key on its host, a worker's on a worker's.
    """
    return {
        "distributed.comm.require-encryption": True,
        "distributed.comm.tls.ca-file": f"{folder}/ca.pem",
        "distributed.comm.tls.scheduler.cert": f"{folder}/scheduler.pem",
        "distributed.comm.tls.worker.cert": f"{folder}/worker.pem",
    }


def dvc_config(url, options):
    """The text of a clone's ``.dvc/config.local``: the default DVC remote ``sweep``, at ``url``, with ``options``."""
    from configobj import ConfigObj

    config = ConfigObj()
    config['remote "sweep"'] = {"url": url, **dict(options)}
    config["core"] = {"remote": "sweep"}
    return "\n".join(config.write()) + "\n"


def log_dashboard(client, scheduler_host):
    port = client.scheduler_info().get("services", {}).get("dashboard")
    if port:
        log.info(
            "dashboard on %s's loopback only, port %d: ssh -N -L 8787:127.0.0.1:%d %s, then open"
            " http://localhost:8787/status",
            scheduler_host,
            port,
            port,
            scheduler_host,
        )


def _connect(what, start, *args, **kwargs):
    """``start(*args, **kwargs)``; a failure to connect or start becomes a SweepError naming ``what``."""
    try:
        return start(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - SSH, network and Dask failures alike, as one line
        raise SweepError(f"{what}: could not start or reach Dask there ({first_line(error)})") from None


def wait_for_workers(client, count, what):
    """Wait until ``count`` workers have joined; SweepError naming ``what`` if they do not within the timeout."""
    try:
        client.wait_for_workers(count, timeout=REMOTE_TIMEOUT_S)
    except TimeoutError:
        joined = len(client.scheduler_info(n_workers=-1)["workers"])
        raise SweepError(
            f"{what}: {joined} of {count} workers joined the scheduler within {REMOTE_TIMEOUT_S} s;"
            " check that the hosts reach the scheduler's port"
        ) from None


def scheduler_security(args):
    """The driver's Security for ``--scheduler``: None for --insecure's tcp://, else --tls-* files or Dask's config."""
    from distributed.security import Security

    if not args.scheduler.startswith("tls://"):
        log.warning(
            "--insecure: the scheduler at %s speaks plain TCP, unauthenticated and unencrypted: anyone who"
            " reaches it can run any code on its workers, as their user",
            args.scheduler,
        )
        return None
    if args.tls_ca_file:
        return certificates.client_security(certificates.user_credentials(args))
    return Security(require_encryption=True)


@contextlib.contextmanager
def scheduler_client(args):
    """A Dask client of the scheduler at ``args.scheduler``; the DVC remote's config travels with each task."""
    from distributed import Client

    what = f"--scheduler {args.scheduler}"
    security = scheduler_security(args)
    with _connect(what, Client, args.scheduler, security=security, timeout=REMOTE_TIMEOUT_S) as client:
        wait_for_workers(client, 1, what)
        yield client, None


def _host_credentials(args, scheduler_host):
    """The driver's Security and the credentials of ``args.hosts``' roles (None where Dask's config has TLS)."""
    from distributed.security import Security

    if not args.tls_ca_file and certificates.dask_config_has_tls():
        return Security(require_encryption=True), None
    if args.tls_ca_file:
        credentials = certificates.user_credentials(args, args.hosts)
    else:
        credentials = certificates.sweep_credentials(args.hosts)
    return certificates.client_security(credentials), credentials


def _host_files(args, scheduler_host, credentials):
    """What each host receives (``hosts.host_files``); without sweep credentials, the DVC config and no key."""
    config = dvc_config(args.dvc_remote, args.dvc_remote_option)
    if credentials:
        return hosts.host_files(credentials, scheduler_host, args.hosts, config)
    return {scheduler_host: {}} | {host: {hosts.DVC_CONFIG: config} for host in args.hosts}


@contextlib.contextmanager
def hosts_client(args):
    """A Dask client of an SSHCluster on ``args.hosts``, and the path of the DVC config on each; closed on exit.

    The credentials and the workers' scratch space are in a folder of each host's home, deleted at the end.
    """
    import dask
    from distributed import Client

    what = f"--hosts {' '.join(args.hosts)}"
    connect_options = {"config": [args.ssh_config]} if args.ssh_config else {}
    scheduler_host = args.scheduler_host or args.hosts[0]
    security, credentials = _host_credentials(args, scheduler_host)
    files = _host_files(args, scheduler_host, credentials)
    with hosts.credentials_on_hosts(files, connect_options) as folder:
        remote_config = remote_tls_config(folder) if credentials else {}
        http = {} if args.dashboard else NO_HTTP_ROUTES
        scheduler_options = {
            "protocol": "tls",
            "dashboard": args.dashboard,
            "dashboard_address": "127.0.0.1:0",
            "idle_timeout": ORPHAN_TIMEOUT_S,
        }
        worker_options = {
            "nthreads": 1,
            "death_timeout": ORPHAN_TIMEOUT_S,
            "dashboard_address": "127.0.0.1:0",
            "local_directory": f"{folder}/{hosts.SCRATCH}",
        }
        addresses = [scheduler_host, *args.hosts]
        python = args.remote_python or sys.executable
        with (
            dask.config.set({**remote_config, **http}),
            _connect(
                what, ssh_cluster, addresses, connect_options, scheduler_options, worker_options, python, security
            ) as cluster,
            Client(cluster, security=security) as client,
        ):
            wait_for_workers(client, len(args.hosts), what)
            if args.dashboard:
                log_dashboard(client, scheduler_host)
            yield client, f"{folder}/{hosts.DVC_CONFIG}"


def cluster_client(args):
    """A Dask client of the sweep's cluster and where the hosts hold the DVC remote's config (None: in the task).

    Both speak TLS with mutual authentication, but a ``tcp://`` scheduler with ``--insecure``.
    """
    return scheduler_client(args) if args.scheduler else hosts_client(args)
