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

# Each stage as dvc.yaml writes it: a foreach stage's definition is its `do`, still templated.
STAGES = {
    name: entry.get("do", entry) for name, entry in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].items()
}
PACKAGE = "digitclust"
# Folders a stage keeps for itself between runs, deliberately not DVC outputs.
SCRATCH = {"checkpoints/train"}


def _is_type_checking(node):
    """Whether ``node`` is an ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``), whose imports never run."""
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _run_time_nodes(tree):
    """Every node of ``tree`` except those inside ``if TYPE_CHECKING:`` blocks."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        children = ast.iter_child_nodes(node)
        if _is_type_checking(node):
            children = node.orelse
        pending.extend(children)


def imported_modules(path):
    """The ``digitclust`` modules that the Python file ``path`` imports when it runs, anywhere in it.

    Imports under ``if TYPE_CHECKING:`` (for type checkers only) are left out.
    """
    modules = set()
    for node in _run_time_nodes(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            modules.add(node.module)
            modules |= {
                f"{node.module}.{alias.name}"
                for alias in node.names
                if (ROOT / node.module.replace(".", "/") / f"{alias.name}.py").is_file()
            }
    return modules


def module_file(module):
    """The file of ``module`` (``digitclust.pipeline.storage``), relative to the repository root."""
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


def rendered_stages():
    """Each stage as DVC renders dvc.yaml (foreach stages expanded, ``${...}`` filled in): {name: (cmd, paths)}."""
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        return {
            stage.addressing: (stage.cmd, {out.def_path for out in [*stage.deps, *stage.outs]})
            for stage in repo.index.stages
        }


RENDERED = rendered_stages()


def test_dvc_renders_one_evaluate_stage_per_scored_method():
    assert [name for name in RENDERED if name.startswith("evaluate")] == [
        "evaluate@refined",
        "evaluate@autoencoder_kmeans",
        "evaluate@baseline",
    ]


@pytest.mark.parametrize("name", RENDERED)
def test_every_path_on_a_stage_command_line_is_declared(name):
    command, declared = RENDERED[name]
    arguments = shlex.split(command)[3:]
    undeclared = [
        argument
        for argument in arguments
        if argument not in declared | SCRATCH and not any(path.startswith(f"{argument}/") for path in declared)
    ]
    assert undeclared == []


def test_the_import_walk_skips_imports_for_type_checkers_only():
    assert "digitclust/method/inference.py" not in code_read_by("stages/fetch.py")  # digitclust/__init__.py names it
    assert "digitclust/api.py" not in code_read_by("stages/cluster.py")


def test_the_import_walk_finds_imports_inside_functions():
    assert "digitclust/method/training.py" in code_read_by("stages/train.py")
    assert "digitclust/pipeline/runtime.py" in code_read_by("stages/train.py")
    assert "digitclust/pipeline/quiet.py" in code_read_by("stages/cluster.py")
