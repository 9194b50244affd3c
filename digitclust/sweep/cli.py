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
to the hosts over SSH, each host the keys of its roles only, and deleted however the sweep ends.
The dashboard is off unless asked for, and then listens on the scheduler host's loopback only.

This module is the command line; the grid is in ``grid``, the remotes in ``remotes``, the
credentials in ``certificates`` and ``hosts``, the cluster in ``cluster``, the tasks' fate in ``dispatch``.
"""

import argparse
import logging
import sys
import time

from digitclust.errors import PipelineError
from digitclust.pipeline.stage import OneLineParser
from digitclust.sweep import certificates, cluster, dispatch, hosts
from digitclust.sweep import task as sweep_task
from digitclust.sweep.grid import planned_experiments
from digitclust.sweep.remotes import (
    baseline,
    check_baseline_pushed,
    check_dvc_remote,
    experiments_on_remote,
    remote_refs,
)
from digitclust.sweep.task import masked

log = logging.getLogger("digitclust.sweep")


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
    if scheme == "tls" and not given and not certificates.dask_config_has_tls():
        parser.error(
            f"--scheduler {args.scheduler}: no credentials: give --tls-ca-file and --tls-cert (and --tls-key),"
            " or name them in Dask's config (distributed.comm.tls.ca-file, .client.cert, .client.key)"
        )
    if scheme != "tls" and not args.insecure:
        kind = "plain tcp://" if scheme == "tcp" else f"{scheme}://, not tls:// with mutual authentication,"
        parser.error(
            f"--scheduler {args.scheduler}: {kind} lets anyone who reaches it run code on its"
            " workers; start the scheduler with TLS (dask scheduler --tls-ca-file CA --tls-cert CERT --tls-key"
            " KEY) and give tls://HOST:PORT with --tls-ca-file, --tls-cert and --tls-key, or add --insecure"
            " to accept the risk"
        )


def prepare(args):
    """Check the input and the remotes; return the experiments to run and the names skipped."""
    if args.tls_ca_file:
        certificates.user_credentials(args)  # readable, and holding what they should
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
            masked(args.dvc_remote),
            cluster.dvc_config(args.dvc_remote, args.dvc_remote_option),
            None,
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
    finished = dispatch.dispatch(experiments, args) if experiments else []
    failed = len(experiments) - len(finished)
    log.info(
        "%d finished, %d failed, %d skipped in %.0f s", len(finished), failed, len(skipped), time.monotonic() - began
    )
    if finished or skipped:
        log.info(
            "to see them here: dvc exp pull %s %s; dvc exp show",
            masked(args.git_remote),
            " ".join([*finished, *skipped]),
        )
    return failed


def main(argv=None):
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    log.setLevel(logging.INFO)
    args = parse_arguments(argv)
    try:
        with hosts.interruptible():
            failed = sweep(args)
    except PipelineError as error:
        sys.exit(f"error: {error}")
    except hosts.Interrupted as interrupted:
        sys.exit(f"error: interrupted by {interrupted.name}; the sweep's keys are deleted from every host")
    sys.exit(1 if failed else 0)
