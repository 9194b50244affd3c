"""dvc.yaml declares everything a stage reads: its code (followed through the package) and its paths.

Params are checked when the stages run: a stage sees only the params its dvc.yaml entry
lists (``stage.restricted_params``), so the end-to-end run in ``tiny_repo`` fails on any
undeclared read.
"""

import ast
import shlex
from pathlib import Path

import pytest
import yaml

from helpers import ROOT

STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
PACKAGE = "digitclust"
# Folders a stage keeps for itself between runs, deliberately not DVC outputs.
SCRATCH = {"checkpoints/train"}


def imported_modules(path):
    """The ``digitclust`` modules that the Python file ``path`` imports, anywhere in it."""
    modules = set()
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            modules.add(node.module)
            modules |= {f"{node.module}.{alias.name}" for alias in node.names
                        if (ROOT / node.module.replace(".", "/") / f"{alias.name}.py").is_file()}
    return modules


def module_file(module):
    """The file of ``module`` (``digitclust.io``), relative to the repository root."""
    path = module.replace(".", "/")
    return f"{path}/__init__.py" if (ROOT / path).is_dir() else f"{path}.py"


def code_read_by(script):
    """``script`` and every file of the package that running it imports, followed through the package."""
    files, pending = {script}, [script]
    while pending:
        for module in imported_modules(ROOT / pending.pop()):
            for file in (f"{PACKAGE}/__init__.py", module_file(module)):
                if file not in files:
                    files.add(file)
                    pending.append(file)
    return files


def paths(entries):
    """The paths of a stage's ``deps`` or ``outs`` entries (strings, or mappings with options)."""
    return {next(iter(entry)) if isinstance(entry, dict) else entry for entry in entries}


@pytest.mark.parametrize("name", STAGES)
def test_a_stage_runs_its_own_script_as_a_module(name):
    assert shlex.split(STAGES[name]["cmd"])[:3] == ["python", "-m", f"stages.{name}"]


@pytest.mark.parametrize("name", STAGES)
def test_a_stage_declares_all_the_code_it_imports(name):
    undeclared = code_read_by(f"stages/{name}.py") - paths(STAGES[name]["deps"])
    assert undeclared == set(), f"stage {name} imports {sorted(undeclared)}, which its deps in dvc.yaml do not list"


@pytest.mark.parametrize("name", STAGES)
def test_every_path_on_a_stage_command_line_is_declared(name):
    declared = set().union(*(paths(STAGES[name].get(kind, [])) for kind in ("deps", "outs", "metrics", "plots")))
    arguments = shlex.split(STAGES[name]["cmd"])[3:]
    undeclared = [
        argument for argument in arguments
        if argument not in declared | SCRATCH and not any(path.startswith(f"{argument}/") for path in declared)
    ]
    assert undeclared == []


def test_the_import_walk_finds_imports_inside_functions():
    assert "digitclust/training.py" in code_read_by("stages/train.py")
    assert "digitclust/backend.py" in code_read_by("stages/train.py")
    assert "digitclust/quiet.py" in code_read_by("stages/cluster.py")
