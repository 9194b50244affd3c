"""A sweep over several hosts: one DVC experiment per combination of `-S` values, spread by Dask.

    python -m digitclust.sweep -S 'seed=0,1,2' -S 'autoencoder.code_size=10,32' \\
        --hosts gpu1 gpu2 --git-remote ssh://git@host/repo.git --dvc-remote ssh://host/dvc-store

Expands the grid as `dvc exp run -S` does, checks every combination against the baseline's
params.yaml, names each experiment after its params, and skips those already on the Git remote.
The rest go to a Dask cluster, started over SSH on ``--hosts`` (Dask's SSHCluster) or reached at
``--scheduler``; each runs in its own clone on a worker (``digitclust.sweep.task``) and is pushed
to the Git remote with its outputs and run cache. A failed task is submitted once more, to another
worker, and Dask reruns once, elsewhere, the task of a worker that died; the driver logs each start,
finish, failure and retry.

The cluster speaks TLS with mutual authentication (docs/security.md): the scheduler, the workers
and the driver each present a certificate of a CA made for the sweep (or the user's own), shipped
to the hosts over SSH and deleted when the sweep ends. The dashboard is off unless asked for, and
then listens on the scheduler host's loopback only.
"""

import argparse
import asyncio
import contextlib
import datetime
import hashlib
import logging
import re
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter, defaultdict, deque
from pathlib import Path

import digitclust
from digitclust import sweep as sweep_package
from digitclust.errors import PipelineError
from digitclust.pipeline import params
from digitclust.pipeline.stage import OneLineParser
from digitclust.sweep import task as sweep_task

log = logging.getLogger("digitclust.sweep")

# Dask's own fault handling: a failed task runs once more, and so does the task of a worker that died.
RETRIES = 1
# SSHCluster passes the driver's Dask config on to the scheduler it starts.
DASK_CONFIG = {"distributed.scheduler.allowed-failures": RETRIES}
QUIET_LOGGERS = ("distributed", "asyncssh", "tornado")
REMOTE_TIMEOUT_S = 60
# SSHCluster's scheduler and workers stop by themselves after this long without work or scheduler,
# should the driver that started them die without closing them.
ORPHAN_TIMEOUT_S = 300
# Where a sweep's TLS credentials go on each host: a folder of the home the SSH sessions (and so Dask's
# processes) start in, the same relative path on every host, readable by the user only.
TLS_FOLDER_PREFIX = ".digitclust-sweep-tls-"
TLS_DAYS = 30  # how long the certificates of a sweep's CA are valid
# Dask's own HTTP routes (health, metrics, dashboard): none are served unless --dashboard asks.
NO_HTTP_ROUTES = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}


class SweepError(PipelineError):
    """Bad input, or a remote, host or scheduler out of reach: reported as one line."""


# The grid -----------------------------------------------------------------------------------


def check_key(text, values):
    """Raise SweepError unless the key of the `-S` value ``text`` is a leaf of params.yaml ``values``."""
    key = text.partition("=")[0]
    if key.startswith(("+", "~")):
        raise SweepError(f"-S {text}: a sweep sets keys of params.yaml, it does not add or remove them")
    node, path = values, []
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            where = ".".join(path) or "params.yaml"
            allowed = ", ".join(node) if isinstance(node, dict) else "none, it is a value"
            raise SweepError(f"-S {text}: {key} is not a key of params.yaml; keys in {where}: {allowed}")
        node, path = node[part], [*path, part]
    if isinstance(node, dict):
        raise SweepError(f"-S {text}: {key} is a section of params.yaml; set one of its keys: {', '.join(node)}")


def expand_grid(sets):
    """The `-S` values ``sets`` as one list of overrides per experiment, as `dvc exp run -S` expands them."""
    from dvc.exceptions import InvalidArgumentError
    from dvc.utils.hydra import get_hydra_sweeps
    from hydra.errors import HydraException

    try:
        sweeps = get_hydra_sweeps({"params.yaml": list(sets)})
    except (HydraException, InvalidArgumentError) as error:
        raise SweepError(
            f"-S {' '.join(sets)}: not valid `dvc exp run -S` values ({_first_line(error)});"
            " expected key=value or key=value1,value2,..."
        ) from None
    return [tuple(sweep["params.yaml"]) for sweep in sweeps]


def check_params(overrides, params_text):
    """Raise SweepError unless ``overrides``, applied to ``params_text`` (bytes) as DVC does, give valid params."""
    from dvc.exceptions import InvalidArgumentError
    from dvc.utils.hydra import apply_overrides

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "params.yaml"
        path.write_bytes(params_text)
        try:
            apply_overrides(path, list(overrides))
            params.load(path)
        except (params.ParamsError, InvalidArgumentError) as error:
            message = str(error).replace(f"{path}: ", "")
            raise SweepError(f"-S {' '.join(overrides)}: {message}") from None


def experiment_name(overrides):
    """A name made of the overrides sorted by key (``kmeans.n_init-3_seed-0``), valid as a Git ref.

    Characters a ref cannot hold become ``-``, and the name then ends with a hash of the
    overrides, so that two experiments never share a name.
    """
    text = "_".join(f"{key}-{value}" for key, value in sorted(override.split("=", 1) for override in overrides))
    name = re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9._-]+", "-", text)).strip(".-")
    if name != text or name.endswith(".lock"):
        name += "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return name


def planned_experiments(sets, params_text):
    """Map each experiment's name to its overrides, every combination checked against ``params_text`` (bytes)."""
    if not sets:
        raise SweepError("no -S values: give the grid as `dvc exp run -S` values, e.g. -S 'seed=0,1,2'")
    try:
        values = params.parse(params_text)  # YAML 1.2, as DVC and the stages read it
    except params.ParamsError as error:
        raise SweepError(f"the baseline's {error}") from None
    for text in sets:
        check_key(text, values)
    plan = {experiment_name(overrides): overrides for overrides in expand_grid(sets)}
    for overrides in plan.values():
        check_params(overrides, params_text)
    return plan


# The remotes --------------------------------------------------------------------------------


def _first_line(error):
    return next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)


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
        reason = " ".join(listing.stderr.split()) or f"git ls-remote exited {listing.returncode}"
        raise SweepError(f"--git-remote {git_remote}: unreachable ({reason}); give a Git URL every host can reach")
    return {ref: sha for sha, ref in (line.split("\t") for line in listing.stdout.splitlines())}


def experiments_on_remote(refs, sha):
    """Names of the experiments of baseline ``sha`` among ``refs`` (DVC keeps them in refs/exps/ab/cdef.../name)."""
    prefix = f"refs/exps/{sha[:2]}/{sha[2:]}/"
    return {ref.removeprefix(prefix) for ref in refs if ref.startswith(prefix)}


def check_baseline_pushed(refs, sha, git_remote):
    if sha not in refs.values():
        raise SweepError(
            f"--git-remote {git_remote}: commit {sha[:7]} is not the tip of a branch or tag there;"
            f" push it first, e.g. git push {git_remote} HEAD:refs/heads/sweep"
        )


def check_dvc_remote(url, options):
    """Raise SweepError unless the DVC remote at ``url`` (with `dvc remote modify` ``options``) answers."""
    from dvc.fs import get_cloud_fs

    try:
        cls, config, path = get_cloud_fs(None, url=url, **dict(options))
        cls(**config).exists(path)
    except Exception as error:  # noqa: BLE001 - any filesystem's failure, as one line
        raise SweepError(
            f"--dvc-remote {url}: unreachable ({_first_line(error)}); give a DVC remote URL every"
            " host can reach, with its options as --dvc-remote-option key=value"
        ) from None


# Dispatch -----------------------------------------------------------------------------------


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


# TLS ----------------------------------------------------------------------------------------


def sweep_credentials():
    """PEM texts of a CA made for this sweep and of the certificates it signs, one per role.

    Returns ``{"ca": ..., "scheduler": ..., "worker": ..., "client": ...}``: the CA's certificate,
    then each role's certificate followed by its private key. The CA's own key is dropped once
    they are signed, so that no further certificate can be made for the sweep.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    token = secrets.token_hex(4)

    def certificate(name, key, issuer, issuer_key, ca):
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"digitclust sweep {token} {name}")])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer or subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=TLS_DAYS))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            usage = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]  # each role listens and connects
            builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def pem(cert, key=None):
        text = cert.public_bytes(serialization.Encoding.PEM).decode()
        if key is not None:
            text += key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
        return text

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("CA", ca_key, None, ca_key, ca=True)
    credentials = {"ca": pem(ca)}
    for role in ("scheduler", "worker", "client"):
        key = ec.generate_private_key(ec.SECP256R1())
        credentials[role] = pem(certificate(role, key, ca.subject, ca_key, ca=False), key)
    return credentials


def _read_credential(option, path):
    try:
        return Path(path).expanduser().read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise SweepError(f"{option} {path}: cannot read it ({getattr(error, 'strerror', None) or error})") from None


def user_credentials(args):
    """The PEM texts of ``--tls-ca-file``, ``--tls-cert`` and ``--tls-key`` (the key may be in the cert's file)."""
    cert = _read_credential("--tls-cert", args.tls_cert)
    key = _read_credential("--tls-key", args.tls_key) if args.tls_key else ""
    if "PRIVATE KEY-----" not in cert + key:
        raise SweepError(f"--tls-cert {args.tls_cert}: holds no private key; give it with --tls-key")
    if "CERTIFICATE-----" not in cert:
        raise SweepError(f"--tls-cert {args.tls_cert}: holds no PEM certificate")
    ca = _read_credential("--tls-ca-file", args.tls_ca_file)
    if "CERTIFICATE-----" not in ca:
        raise SweepError(f"--tls-ca-file {args.tls_ca_file}: holds no PEM certificate")
    return {
        "ca": ca,
        "scheduler": cert.rstrip("\n") + "\n" + key,
        "worker": cert.rstrip("\n") + "\n" + key,
        "client": cert.rstrip("\n") + "\n" + key,
    }


def client_security(credentials):
    """The driver's Dask Security of ``credentials`` (PEM texts, kept in memory), TLS required."""
    from distributed.security import Security

    return Security(require_encryption=True, tls_ca_file=credentials["ca"], tls_client_cert=credentials["client"])


def dask_config_has_tls():
    """Whether Dask's config names a CA and a client certificate (distributed.comm.tls.*), files of its own."""
    import dask.config

    return bool(
        dask.config.get("distributed.comm.tls.ca-file", None)
        and dask.config.get("distributed.comm.tls.client.cert", None)
    )


def remote_tls_config(folder):
    """The Dask config of the hosts' processes: TLS required, with the credentials in ``folder`` (relative to home)."""
    return {
        "distributed.comm.require-encryption": True,
        "distributed.comm.tls.ca-file": f"{folder}/ca.pem",
        "distributed.comm.tls.scheduler.cert": f"{folder}/scheduler.pem",
        "distributed.comm.tls.worker.cert": f"{folder}/worker.pem",
    }


def on_hosts(hosts, connect_options, run):
    """Await ``run(connection)`` on an SSH connection (asyncssh, as SSHCluster's) to each of ``hosts`` at once.

    Returns ``{host: exception}`` for the hosts where it failed.
    """
    import asyncssh

    async def on(host):
        async with asyncssh.connect(host, **connect_options) as connection:
            await run(connection)

    async def everywhere():
        tries = [asyncio.wait_for(on(host), REMOTE_TIMEOUT_S) for host in hosts]
        results = await asyncio.gather(*tries, return_exceptions=True)
        return {host: result for host, result in zip(hosts, results, strict=False) if isinstance(result, BaseException)}

    return asyncio.run(everywhere())


def ship_credentials(hosts, connect_options, folder, files):
    """Write ``files`` ({name: text}) into ``folder`` of the home on each host, readable by the user only.

    The texts go through the SSH connection's input, never a command line: `ps` on a host shows no key.
    Where a host cannot be reached, those written are deleted again and SweepError names the host.
    """
    target = shlex.quote(folder)

    async def write(connection):
        await connection.run(f"umask 077 && mkdir -p {target} && chmod 700 {target}", check=True)
        for name, text in files.items():
            await connection.run(f"umask 077 && cat > {target}/{shlex.quote(name)}", input=text, check=True)

    failed = on_hosts(hosts, connect_options, write)
    if failed:
        remove_credentials([host for host in hosts if host not in failed], connect_options, folder)
        host, error = next(iter(failed.items()))
        raise SweepError(
            f"--hosts {' '.join(hosts)}: could not start or reach Dask there ({host}: {_first_line(error)})"
        )


def remove_credentials(hosts, connect_options, folder):
    """Delete ``folder`` on each host; log those where it could not be done (a host that died)."""

    async def remove(connection):
        await connection.run(f"rm -rf -- {shlex.quote(folder)}", check=True)

    for host, error in on_hosts(hosts, connect_options, remove).items():
        log.warning(
            "could not delete the sweep's TLS keys on %s (%s): delete ~/%s there", host, _first_line(error), folder
        )


@contextlib.contextmanager
def host_tls(args, hosts, connect_options):
    """The driver's Security and the Dask config for the processes on ``hosts``; credentials there meanwhile.

    With ``--tls-*`` files, those are shipped; without, and with TLS in Dask's config, that config
    (which SSHCluster passes on) names files that each host has; else a CA is made for the sweep.
    """
    from distributed.security import Security

    if not args.tls_ca_file and dask_config_has_tls():
        yield Security(require_encryption=True), {}
        return
    credentials = user_credentials(args) if args.tls_ca_file else sweep_credentials()
    folder = TLS_FOLDER_PREFIX + secrets.token_hex(8)
    files = {
        "ca.pem": credentials["ca"],
        "scheduler.pem": credentials["scheduler"],
        "worker.pem": credentials["worker"],
    }
    distinct = list(dict.fromkeys(hosts))
    ship_credentials(distinct, connect_options, folder, files)
    try:
        yield client_security(credentials), remote_tls_config(folder)
    finally:
        remove_credentials(distinct, connect_options, folder)


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
        return client_security(user_credentials(args))
    return Security(require_encryption=True)


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


@contextlib.contextmanager
def cluster_client(args):
    """A Dask client of an SSHCluster on ``args.hosts`` (closed on exit) or of the scheduler at ``args.scheduler``.

    Both speak TLS with mutual authentication, but a ``tcp://`` scheduler with ``--insecure``.
    """
    import dask
    from distributed import Client, SSHCluster

    if args.scheduler:
        security = scheduler_security(args)
        with _connect(
            f"--scheduler {args.scheduler}", Client, args.scheduler, security=security, timeout=REMOTE_TIMEOUT_S
        ) as client:
            client.wait_for_workers(1, timeout=REMOTE_TIMEOUT_S)
            yield client
        return
    connect_options = {"config": [args.ssh_config]} if args.ssh_config else {}
    hosts = [args.scheduler_host or args.hosts[0], *args.hosts]
    http = {} if args.dashboard else NO_HTTP_ROUTES
    scheduler_options = {
        "protocol": "tls",
        "dashboard": args.dashboard,
        "dashboard_address": "127.0.0.1:0",
        "idle_timeout": ORPHAN_TIMEOUT_S,
    }
    worker_options = {"nthreads": 1, "death_timeout": ORPHAN_TIMEOUT_S, "dashboard_address": "127.0.0.1:0"}
    with (
        host_tls(args, hosts, connect_options) as (security, remote_config),
        dask.config.set({**remote_config, **http}),
        _connect(
            f"--hosts {' '.join(args.hosts)}",
            SSHCluster,
            hosts,
            connect_options=connect_options,
            worker_options=worker_options,
            scheduler_options=scheduler_options,
            security=security,
            remote_python=args.remote_python or sys.executable,
        ) as cluster,
        Client(cluster, security=security) as client,
    ):
        client.wait_for_workers(len(args.hosts), timeout=REMOTE_TIMEOUT_S)
        if args.dashboard:
            log_dashboard(client, hosts[0])
        yield client


def _connect(what, start, *args, **kwargs):
    """``start(*args, **kwargs)``; a failure to connect or start becomes a SweepError naming ``what``."""
    try:
        return start(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - SSH, network and Dask failures alike, as one line
        raise SweepError(f"{what}: could not start or reach Dask there ({_first_line(error)})") from None


def quiet_dask():
    """Set Dask's fault handling and silence the INFO logging of Dask and asyncssh (which importing Dask sets)."""
    import dask
    import distributed  # noqa: F401 - sets its loggers' levels when first imported

    dask.config.set(DASK_CONFIG)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


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
        log.error("%s: gave up: %s: %s", name, type(error).__name__, _first_line(error))
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
    quiet_dask()
    from distributed import as_completed

    with cluster_client(args) as client:
        ship_task_code(client)
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


# The command line ---------------------------------------------------------------------------


def not_an_option(text):
    """``text``, a value handed on to git or DVC, unless it begins with ``-`` (they would read it as an option)."""
    if text.startswith("-"):
        raise argparse.ArgumentTypeError(f"{text!r}: begins with -, which git and DVC would read as an option")
    return text


def remote_option(text):
    """``KEY=VALUE`` as the pair ``(KEY, VALUE)``."""
    key, equals, value = text.partition("=")
    if not equals or not key or key.startswith("-"):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected KEY=VALUE, a `dvc remote modify` option such as keyfile=~/.ssh/id_ed25519"
        )
    return key, value


def parse_arguments(argv=None):
    parser = OneLineParser(prog="python -m digitclust.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-S",
        "--set-param",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="`dvc exp run -S` values; each combination of the -S values is one experiment",
    )
    hosts = parser.add_mutually_exclusive_group()
    hosts.add_argument("--hosts", nargs="+", metavar="HOST", help="workers, started over SSH (one task at a time each)")
    hosts.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tls://10.0.0.5:8786")
    parser.add_argument("--scheduler-host", help="where --hosts' scheduler runs (default: the first host)")
    parser.add_argument("--ssh-config", help="SSH config for reaching --hosts (default: ~/.ssh/config)")
    parser.add_argument("--remote-python", help="Python of the venv on the hosts (default: this one's path)")
    parser.add_argument(
        "--git-remote", required=True, type=not_an_option, help="Git URL the hosts clone from and push experiments to"
    )
    parser.add_argument(
        "--dvc-remote", required=True, type=not_an_option, help="DVC remote URL the hosts pull from and push to"
    )
    parser.add_argument(
        "--dvc-remote-option",
        action="append",
        default=[],
        type=remote_option,
        metavar="KEY=VALUE",
        help="`dvc remote modify` option of --dvc-remote, e.g. keyfile=~/.ssh/id_ed25519",
    )
    parser.add_argument(
        "--rev", default="HEAD", type=not_an_option, help="baseline commit, pushed to --git-remote (default: HEAD)"
    )
    parser.add_argument(
        "--target", action="append", default=[], type=not_an_option, help="stage to reproduce (default: all)"
    )
    parser.add_argument("--workdir", default="~/digitclust-sweep", help="folder of the clones on each host")
    parser.add_argument("--tls-ca-file", metavar="PEM", help="your CA's certificate (default: a CA made for the sweep)")
    parser.add_argument("--tls-cert", metavar="PEM", help="a certificate of --tls-ca-file, for every role; its key too")
    parser.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert, unless its file holds it")
    parser.add_argument(
        "--dashboard",
        action="store_true",
        help="serve Dask's dashboard, on the scheduler host's loopback only (reach it by an SSH tunnel)",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="accept a --scheduler tcp://, unauthenticated and unencrypted: anyone who reaches it runs code",
    )
    args = parser.parse_args(argv)
    if not args.hosts and not args.scheduler:
        parser.error("no hosts: give --hosts HOST [HOST ...] (workers over SSH) or --scheduler tls://HOST:PORT")
    check_security_arguments(parser, args)
    return args


def check_security_arguments(parser, args):
    """One line for TLS options that do not go together, or a --scheduler that is not tls:// without --insecure."""
    given = [name for name in ("tls_ca_file", "tls_cert") if getattr(args, name)]
    if len(given) == 1 or (args.tls_key and not given):
        parser.error("--tls-ca-file and --tls-cert go together (and --tls-key, unless the cert's file holds the key)")
    if args.insecure and not args.scheduler:
        parser.error("--insecure: only for a --scheduler tcp:// that you run; the cluster of --hosts always speaks TLS")
    if args.dashboard and args.scheduler:
        parser.error(
            "--dashboard: only with --hosts; a --scheduler that you run serves the dashboard you set it up with"
        )
    if not args.scheduler:
        return
    scheme = args.scheduler.partition("://")[0] if "://" in args.scheduler else "tcp"
    if scheme == "tls" and args.insecure:
        parser.error(f"--insecure: the scheduler {args.scheduler} speaks TLS; drop --insecure")
    if scheme == "tls" and not given and not dask_config_has_tls():
        parser.error(
            f"--scheduler {args.scheduler}: no credentials: give --tls-ca-file and --tls-cert (and --tls-key),"
            " or name them in Dask's config (distributed.comm.tls.ca-file, .client.cert, .client.key)"
        )
    if scheme != "tls" and not args.insecure:
        parser.error(
            f"--scheduler {args.scheduler}: plain {scheme}:// lets anyone who reaches it run code on its"
            " workers; start the scheduler with TLS (dask scheduler --tls-ca-file CA --tls-cert CERT --tls-key"
            " KEY) and give tls://HOST:PORT with --tls-ca-file, --tls-cert and --tls-key, or add --insecure"
            " to accept the risk"
        )


def prepare(args):
    """Check the input and the remotes; return the experiments to run and the names skipped."""
    if args.tls_ca_file:
        user_credentials(args)  # readable, and holding what they should
    sha, params_text = baseline(args.rev)
    plan = planned_experiments(args.sets, params_text)
    refs = remote_refs(args.git_remote)
    check_baseline_pushed(refs, sha, args.git_remote)
    check_dvc_remote(args.dvc_remote, args.dvc_remote_option)
    done = experiments_on_remote(refs, sha)
    experiments = [
        sweep_task.Experiment(
            name,
            overrides,
            args.git_remote,
            sha,
            args.dvc_remote,
            tuple(args.dvc_remote_option),
            tuple(args.target),
            args.workdir,
        )
        for name, overrides in plan.items()
        if name not in done
    ]
    return experiments, sorted(set(plan) & done)


def sweep(args):
    """Run the sweep that ``args`` describe; return how many of its experiments failed."""
    began = time.monotonic()
    experiments, skipped = prepare(args)
    if skipped:
        log.info("skipping %d experiments already on the Git remote: %s", len(skipped), ", ".join(skipped))
    finished = dispatch(experiments, args) if experiments else []
    failed = len(experiments) - len(finished)
    log.info(
        "%d finished, %d failed, %d skipped in %.0f s", len(finished), failed, len(skipped), time.monotonic() - began
    )
    if finished or skipped:
        log.info("to see them here: dvc exp pull %s %s; dvc exp show", args.git_remote, " ".join([*finished, *skipped]))
    return failed


def main(argv=None):
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    log.setLevel(logging.INFO)
    args = parse_arguments(argv)
    try:
        failed = sweep(args)
    except PipelineError as error:
        sys.exit(f"error: {error}")
    sys.exit(1 if failed else 0)
