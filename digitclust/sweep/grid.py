"""The grid of a sweep: `-S` values expanded as `dvc exp run -S` does, checked against params.yaml, named."""

import hashlib
import re
import tempfile
from pathlib import Path

from digitclust.pipeline import params
from digitclust.sweep.errors import SweepError, first_line


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
            f"-S {' '.join(sets)}: not valid `dvc exp run -S` values ({first_line(error)});"
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
