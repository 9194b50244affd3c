"""Running stage scripts and DVC in throwaway copies of the project."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from digitclust.pipeline import params

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("dvc.yaml", "params.yaml", "stages", "digitclust", "inputs", ".gitignore")


def environment():
    """The current environment with this interpreter's ``python`` first on PATH, as DVC's commands need."""
    env = dict(os.environ)
    env["DVC_NO_ANALYTICS"] = "1"  # DVC's usage reports would go to a non-loopback address
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


# A line of a stage's own log (its time, then a digitclust logger), as opposed to a library's output.
OWN_LOG_LINE = re.compile(r"\d\d:\d\d:\d\d digitclust[.\w]*: ")


def stage_environment():
    """``environment()`` in which ``python -m stages.<name>`` finds this checkout's stages and package.

    Only for running a stage script outside a DVC project: DVC runs them in the project's own folder.
    """
    return {**environment(), "PYTHONPATH": str(ROOT)}


def stage_command(name, *args):
    """The command line that runs stage ``name`` with ``args``, as dvc.yaml does."""
    return [sys.executable, "-m", f"stages.{name}", *args]


def stage_folder(folder, changes=None):
    """Give ``folder`` the project's dvc.yaml and params.yaml (with dotted-key ``changes``), to run stages in."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy2(ROOT / name, folder / name)
    write_params(folder, changes or {})
    return folder


def run_stage(folder, name, *args):
    """Run stage ``name`` with ``args`` in ``folder`` (see ``stage_folder``); return the completed process."""
    return subprocess.run(
        stage_command(name, *args), cwd=folder, env=stage_environment(), capture_output=True, text=True
    )


def run(command, cwd, check=True):
    """Run ``command`` in ``cwd``; return the completed process with text output."""
    result = subprocess.run(command, cwd=cwd, env=environment(), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def dvc(*args, cwd, check=True):
    return run([sys.executable, "-m", "dvc", *args], cwd=cwd, check=check)


def copy_project(destination, changes):
    """Copy the project into ``destination`` as a fresh git + DVC repository with changed params.

    ``changes`` maps dotted keys (``autoencoder.epochs``) to values.
    """
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / name)
    write_params(destination, changes)
    run(["git", "init", "-q"], cwd=destination)
    dvc("init", "-q", cwd=destination)
    commit(destination, "project")
    return destination


def commit(repo, message):
    """Commit everything in ``repo`` (with a fixed identity, so no git config is needed)."""
    run(["git", "add", "-A"], cwd=repo)
    identity = ["-c", "user.name=tests", "-c", "user.email=tests@localhost"]
    run(["git", *identity, "commit", "-q", "--allow-empty", "-m", message], cwd=repo)


def write_params(folder, changes):
    """Apply dotted-key ``changes`` to ``folder``/params.yaml."""
    path = folder / "params.yaml"
    values = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        params.set_value(values, key, value)
    path.write_text(yaml.safe_dump(values, sort_keys=False))
