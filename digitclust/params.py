"""Load ``params.yaml`` and validate all of it before any stage does heavy work.

Every problem is reported as one line naming the key, the value found and what is
allowed, e.g. ``params.yaml: autoencoder.epochs = 0: expected an integer >= 1``.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

DATASETS = ("mnist", "fashion_mnist")
SOURCE_KINDS = {"npz_url": "url", "idx_url": "url", "idx_dir": "path", "npm": "package"}
ARCHITECTURES = ("dense", "conv")
OPTIMIZERS = ("adam", "adadelta", "rmsprop", "sgd")
LOSSES = ("mse", "binary_crossentropy")
MANIFOLDS = ("none", "umap")
KMEANS_ALGORITHMS = ("lloyd", "elkan")
# Split sizes of both supported datasets (MNIST and Fashion-MNIST share them).
FULL_SIZES = {"train": 60_000, "test": 10_000}


class ParamsError(ValueError):
    """A parameter is missing, unknown or has a value that cannot work."""


@dataclass(frozen=True)
class Rule:
    """What one leaf of ``params.yaml`` must be."""

    types: tuple
    check: Callable[[Any], bool]
    allowed: str

    def validate(self, key, value):
        is_stray_bool = isinstance(value, bool) and bool not in self.types  # YAML's true must not pass as 1
        if is_stray_bool or not isinstance(value, self.types) or not self.check(value):
            raise ParamsError(f"{key} = {value!r}: expected {self.allowed}")


def integer(minimum, maximum=None):
    bound = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
    return Rule((int,), lambda v: v >= minimum and (maximum is None or v <= maximum), f"an integer {bound}")


def positive_number():
    return Rule((int, float), lambda v: v > 0, "a number > 0")


def number_at_least(minimum):
    return Rule((int, float), lambda v: v >= minimum, f"a number >= {minimum}")


def flag():
    return Rule((bool,), lambda v: True, "true or false")


def choice(*options):
    return Rule((str,), lambda v: v in options, "one of " + ", ".join(options))


def source_list():
    def check(sources):
        return all(
            isinstance(s, dict) and s.get("kind") in SOURCE_KINDS and set(s) == {"kind", SOURCE_KINDS[s["kind"]]}
            and isinstance(s[SOURCE_KINDS[s["kind"]]], str)
            for s in sources
        ) and len(sources) > 0

    shapes = "; ".join(f"{{kind: {kind}, {field}: ...}}" for kind, field in SOURCE_KINDS.items())
    return Rule((list,), check, f"a non-empty list of sources, each one of: {shapes}")


SCHEMA = {
    "seed": integer(0, 2**31 - 1),
    "data": {
        "dataset": choice(*DATASETS),
        "train_size": integer(0, FULL_SIZES["train"]),
        "test_size": integer(0, FULL_SIZES["test"]),
        "timeout_s": positive_number(),
        "sources": {name: source_list() for name in DATASETS},
    },
    "kmeans": {
        "k": integer(2),
        "n_init": integer(1),
        "max_iter": integer(1),
        "algorithm": choice(*KMEANS_ALGORITHMS),
    },
    "autoencoder": {
        "architecture": choice(*ARCHITECTURES),
        "deskew": flag(),
        "code_size": integer(1),
        "epochs": integer(1),
        "batch_size": integer(1),
        "optimizer": choice(*OPTIMIZERS),
        "learning_rate": positive_number(),
        "loss": choice(*LOSSES),
        "xla": flag(),
        "checkpoint": flag(),
    },
    "report": {
        "typical_images": integer(1),
    },
    "cluster": {
        "manifold": choice(*MANIFOLDS),
        "umap": {
            "n_components": integer(1),
            "n_neighbors": integer(2),
            "min_dist": number_at_least(0),
            "n_epochs": integer(1),
        },
    },
}


def _validate(tree, schema, prefix=""):
    if not isinstance(tree, dict):
        raise ParamsError(f"{prefix.rstrip('.') or 'params'} = {tree!r}: expected a mapping of keys")
    for key in tree:
        if key not in schema:
            raise ParamsError(f"{prefix}{key}: unknown key; allowed here: {', '.join(schema)}")
    for key, rule in schema.items():
        if key not in tree:
            raise ParamsError(f"{prefix}{key}: missing")
        if isinstance(rule, dict):
            _validate(tree[key], rule, f"{prefix}{key}.")
        else:
            rule.validate(f"{prefix}{key}", tree[key])


def set_value(params, key, value):
    """Set the dotted ``key`` (``autoencoder.epochs``) of ``params`` to ``value``; None removes it."""
    *parents, leaf = key.split(".")
    node = params
    for parent in parents:
        node = node[parent]
    if value is None:
        del node[leaf]
    else:
        node[leaf] = value


def split_size(params, split):
    """Number of images of ``split`` the pipeline uses (0 in params.yaml means all)."""
    return params["data"][f"{split}_size"] or FULL_SIZES[split]


def _check_combinations(params):
    k = params["kmeans"]["k"]
    for split in FULL_SIZES:
        if k > split_size(params, split):
            raise ParamsError(
                f"kmeans.k = {k}: more clusters than data.{split}_size = {split_size(params, split)} images"
            )
    umap = params["cluster"]["umap"]
    if params["cluster"]["manifold"] == "umap" and umap["n_neighbors"] >= split_size(params, "train"):
        raise ParamsError(f"cluster.umap.n_neighbors = {umap['n_neighbors']}: must be below data.train_size")


def validate(params):
    """Raise ParamsError naming the first problem in ``params``; return them unchanged."""
    _validate(params, SCHEMA)
    _check_combinations(params)
    return params


def load(path="params.yaml"):
    """Read and validate ``path``; every problem becomes a one-line ParamsError."""
    path = Path(path)
    try:
        params = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: not found; run from the repository root") from None
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from None
    try:
        return validate(params)
    except ParamsError as error:
        raise ParamsError(f"{path}: {error}") from None
