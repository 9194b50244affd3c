"""Load ``params.yaml`` and validate all of it before any stage does heavy work.

Every problem is reported as one line naming the key, the value found and what is
allowed, e.g. ``params.yaml: autoencoder.epochs = 0: expected an integer >= 1``.
"""

import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitclust.datasets.idx import IDX_FILES, IMAGE_SHAPE, NPZ_FILE
from digitclust.errors import PipelineError, clipped
from digitclust.method.clustering import GMM_COVARIANCE_TYPES, GMM_INIT_PARAMS
from digitclust.method.clustering import METHODS as CLUSTER_METHODS
from digitclust.method.encoders import ARCHITECTURES
from digitclust.pipeline import resources

SOURCE_KINDS = {
    "npz_url": "url",
    "idx_url": "url",
    "idx_dir": "path",
    "npm": "package",
    "npz_file": "path",
    "image_dir": "path",
}
# Your own data (digitclust.datasets.arrays, .images): no IDX files, so no declared SHA-256 is required.
OWN_KINDS = {"npz_file", "image_dir"}
# Keras' backends, each with the way to install it: TensorFlow comes with requirements.txt.
BACKENDS = {
    "tensorflow": "pip install -r requirements.txt",
    "jax": "pip install -r requirements-jax.txt",
    "torch": "pip install torch",
}
OPTIMIZERS = ("adam", "adadelta", "rmsprop", "sgd")
LOSSES = ("mse", "binary_crossentropy")
MANIFOLDS = ("none", "umap")
KMEANS_ALGORITHMS = ("lloyd", "elkan")
# Split sizes of MNIST and Fashion-MNIST, the most a dataset's splits are cut to (0 in params: all of it).
FULL_SIZES = {"train": 60_000, "test": 10_000}
# UMAP refuses a min_dist above its spread, which fit_umap leaves at UMAP's default.
UMAP_SPREAD = 1


# Bounds on params.yaml itself, far above the real file (a few KB, 5 levels deep): no parse hangs or fills memory.
MAX_PARAMS_BYTES = 1_000_000
MAX_DEPTH = 64


class ParamsError(PipelineError, ValueError):
    """A parameter is missing, unknown or has a value that cannot work."""


def shown(value):
    """``repr(value)``, cut to 80 characters with an ellipsis: an error line never prints an unbounded value."""
    return clipped(repr(value))


@dataclass(frozen=True)
class Rule:
    """What one leaf of ``params.yaml`` must be.

    A ``cap`` (against a run that never ends or an allocation that cannot be made) is
    checked after ``check`` and only a value above it is told the range ``within_cap``.
    """

    types: tuple
    check: Callable[[Any], bool]
    allowed: str
    cap: Any = None
    within_cap: str = ""

    def validate(self, key, value):
        is_stray_bool = isinstance(value, bool) and bool not in self.types  # YAML's true must not pass as 1
        if is_stray_bool or not isinstance(value, self.types) or not self.check(value):
            raise ParamsError(f"{key} = {shown(value)}: expected {self.allowed}")
        if self.cap is not None and value > self.cap:
            raise ParamsError(f"{key} = {shown(value)}: expected {self.within_cap}")


def integer(minimum, maximum=None, cap=None):
    """An integer >= ``minimum`` and, when given, <= ``maximum`` (a split size) and <= ``cap``."""
    bound = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
    return Rule(
        (int,),
        lambda v: v >= minimum and (maximum is None or v <= maximum),
        f"an integer {bound}",
        cap,
        f"an integer from {minimum} to {cap}",
    )


def number(minimum, above=False, cap=None):
    """A finite number >= ``minimum`` (> with ``above``) and, when given, <= ``cap``."""

    def check(v):
        in_range = v > minimum if above else v >= minimum  # false for nan
        # inf fails a cap; without one, a float's range bounds it (exactly for an int of any size)
        return in_range and (cap is not None or abs(v) <= sys.float_info.max)

    lower = f"> {minimum}" if above else f">= {minimum}"
    within_cap = f"a number > {minimum} and <= {cap}" if above else f"a number from {minimum} to {cap}"
    return Rule((int, float), check, f"a number {lower}" + ("" if cap is not None else " and finite"), cap, within_cap)


def flag():
    return Rule((bool,), lambda v: True, "true or false")


def choice(*options):
    return Rule((str,), lambda v: v in options, "one of " + ", ".join(options))


def _is_source(entry):
    """A mapping of a known ``kind`` and that kind's location field, a non-empty string."""
    if not isinstance(entry, dict) or not isinstance(entry.get("kind"), str):
        return False
    field = SOURCE_KINDS.get(entry["kind"])
    value = entry.get(field)
    optional = {"test_fraction"} if entry["kind"] == "image_dir" else set()
    fraction = entry.get("test_fraction", 0.2)
    # A value beginning with - would be read as an option by the program it is given to (npm pack).
    return (
        {"kind", field} <= set(entry) <= {"kind", field, *optional}
        and isinstance(value, str)
        and value.strip() != ""
        and not value.startswith("-")
        and type(fraction) in (int, float)
        and 0 < fraction < 1
    )


def source_list():
    shapes = "; ".join(f"{{kind: {kind}, {field}: <text>}}" for kind, field in SOURCE_KINDS.items())
    return Rule(
        (list,),
        lambda sources: len(sources) > 0 and all(map(_is_source, sources)),
        f"a non-empty list of sources, each one of: {shapes} (a text that does not begin with -)",
    )


SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class DatasetRegistry:
    """``data.datasets``: each MNIST-format dataset by name, with the SHA-256 of its files and its sources.

    ``{<name>: {sha256: {<file>: <64 hex digits>, ...}, sources: [...]}}``, where the files are
    the four IDX files, and ``mnist.npz`` too where an npz_url source serves it.
    """

    def validate(self, key, value):
        if not isinstance(value, dict) or not value:
            raise ParamsError(
                f"{key} = {shown(value)}: expected a mapping of dataset names to {{sha256: ..., sources: ...}}"
            )
        for name, dataset in value.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ParamsError(
                    f"{key}: dataset name {shown(name)}: expected a name of letters, digits and _"
                    " not starting with a digit"
                )
            _validate(
                dataset,
                {
                    "sha256": Rule((dict,), lambda v: True, "a mapping of file names to SHA-256"),
                    "sources": source_list(),
                }
                if not self._own(dataset)
                else {"sources": source_list()},
                f"{key}.{name}.",
            )
            if self._own(dataset):
                continue
            self._validate_checksums(f"{key}.{name}.sha256", dataset["sha256"], dataset["sources"])

    @staticmethod
    def _own(dataset):
        """Whether ``dataset`` (a mapping) is only your own data, whose sha256 may be left out."""
        sources = dataset.get("sources") if isinstance(dataset, dict) else None
        return (
            isinstance(sources, list)
            and sources != []
            and all(isinstance(s, dict) and isinstance(s.get("kind"), str) and s["kind"] in OWN_KINDS for s in sources)
            and "sha256" not in dataset
        )

    @staticmethod
    def _validate_checksums(key, checksums, sources):
        required = list(IDX_FILES.values())
        allowed = [*required, NPZ_FILE]
        for file, digest in checksums.items():
            if file not in allowed:
                raise ParamsError(f"{key}.{clipped(str(file))}: unknown file; allowed here: {', '.join(allowed)}")
            if not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest):
                raise ParamsError(f"{key}.{file} = {shown(digest)}: expected a SHA-256, 64 lowercase hex digits")
        for file in required:
            if file not in checksums:
                raise ParamsError(f"{key}.{file}: missing")
        if NPZ_FILE not in checksums and any(source["kind"] == "npz_url" for source in sources):
            raise ParamsError(f"{key}.{NPZ_FILE}: missing (an npz_url source serves {NPZ_FILE})")


SCHEMA = {
    "seed": integer(0, 2**31 - 1),
    "data": {
        "dataset": Rule((str,), lambda v: True, "the name of a dataset under data.datasets"),
        "train_size": integer(0),
        "test_size": integer(0),
        "timeout_s": number(0, above=True, cap=3600),  # Python's sockets refuse huge timeouts
        "datasets": DatasetRegistry(),
    },
    "kmeans": {
        "k": integer(2),
        "n_init": integer(1, cap=1000),  # fit_kmeans draws every restart's seed up front
        "max_iter": integer(1, cap=100_000),
        "algorithm": choice(*KMEANS_ALGORITHMS),
    },
    "autoencoder": {
        "architecture": choice(*ARCHITECTURES),
        "deskew": flag(),
        "code_size": integer(1),  # bounded by the memory check
        "epochs": integer(1, cap=100_000),
        "batch_size": integer(1, cap=FULL_SIZES["train"]),
        "optimizer": choice(*OPTIMIZERS),
        "learning_rate": number(0, above=True),
        "loss": choice(*LOSSES),
        "xla": flag(),
        "checkpoint": flag(),
        "backend": choice(*BACKENDS),
    },
    "refine": {
        "enabled": flag(),
        "epochs": integer(1, cap=100_000),
        "batch_size": integer(1, cap=FULL_SIZES["train"]),
        "learning_rate": number(0, above=True, cap=1),  # Keras clips the loss: a wild rate gives noise, not NaN
        "augment": {  # Keras' random layers refuse factors above 1
            "rotation": number(0, cap=1),
            "translation": number(0, cap=1),
            "zoom": number(0, cap=1),
        },
    },
    "report": {
        "typical_images": integer(1, cap=50),  # the picture gets twice as many columns
    },
    "cluster": {
        "manifold": choice(*MANIFOLDS),
        "method": choice(*CLUSTER_METHODS),  # the registry of digitclust/method/clustering.py
        "umap": {
            "n_components": integer(1),  # bounded by data.train_size and the memory check
            "n_neighbors": integer(2),  # bounded by both split sizes
            "min_dist": number(0, cap=UMAP_SPREAD),
            "n_epochs": integer(1, cap=10_000),
        },
        "gmm": {  # the options of clustering.gmm, scikit-learn's GaussianMixture
            "covariance_type": choice(*GMM_COVARIANCE_TYPES),
            "n_init": integer(1, cap=1000),
            "max_iter": integer(1, cap=100_000),
            "init_params": choice(*GMM_INIT_PARAMS),
            "reg_covar": number(0),
        },
    },
}


def _validate(tree, schema, prefix=""):
    if not isinstance(tree, dict):
        raise ParamsError(f"{prefix.rstrip('.') or 'params'} = {shown(tree)}: expected a mapping of keys")
    for key in tree:
        if key not in schema:
            raise ParamsError(f"{prefix}{clipped(str(key))}: unknown key; allowed here: {', '.join(schema)}")
    for key, rule in schema.items():
        if key not in tree:
            raise ParamsError(f"{prefix}{key}: missing")
        if isinstance(rule, dict):
            _validate(tree[key], rule, f"{prefix}{key}.")
        else:
            rule.validate(f"{prefix}{key}", tree[key])


def value_of(params, key):
    """The value of the dotted ``key`` (``autoencoder.epochs``) in ``params``."""
    node = params
    for part in key.split("."):
        node = node[part]
    return node


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


def _check_dataset(params):
    dataset, declared = params["data"]["dataset"], params["data"]["datasets"]
    if dataset not in declared:
        raise ParamsError(
            f"data.dataset = {shown(dataset)}: expected one of {', '.join(declared)} (the names under data.datasets)"
        )


def _check_clusters(params):
    k = params["kmeans"]["k"]
    for split in FULL_SIZES:
        if k > split_size(params, split):
            raise ParamsError(
                f"kmeans.k = {k}: more clusters than data.{split}_size = {split_size(params, split)} images"
            )


def check_fits(params, samples, path):
    """Raise ParamsError if ``params`` ask more of the ``samples`` (N, ...) read from ``path`` than they hold.

    The params check compares kmeans.k and UMAP's limits with data.train_size; a stage run by
    hand on a file made with other params meets them here, before any fitting.
    """
    k, n = params["kmeans"]["k"], len(samples)
    if k > n:
        raise ParamsError(
            f"kmeans.k = {k}: more clusters than the {n} train samples in {path}; lower kmeans.k, or"
            " remake the file with `dvc repro`"
        )
    cluster = params.get("cluster")  # declared by the stages that embed with UMAP
    if cluster and cluster["manifold"] == "umap" and cluster["umap"]["n_neighbors"] >= n:
        raise ParamsError(
            f"cluster.umap.n_neighbors = {cluster['umap']['n_neighbors']}: must be below the {n} train"
            f" samples in {path}"
        )
    if cluster and cluster["manifold"] == "umap" and cluster["umap"]["n_components"] >= n - 1:
        raise ParamsError(
            f"cluster.umap.n_components = {cluster['umap']['n_components']}: must be below the {n} train"
            f" samples in {path} - 1 (UMAP's spectral initialisation)"
        )


def _check_umap(params):
    """UMAP's limits on what it embeds: the test codes (the report's map) and, with manifold umap, the train codes.

    Each point needs fewer neighbours than there are points, and the spectral start of
    an embedding in d dimensions needs d < points - 1.
    """
    umap = params["cluster"]["umap"]
    n_train, n_test = split_size(params, "train"), split_size(params, "test")
    if umap["n_neighbors"] >= n_test:
        raise ParamsError(
            f"cluster.umap.n_neighbors = {umap['n_neighbors']}: must be below data.test_size = {n_test}"
            " (the report maps the test codes with UMAP)"
        )
    if n_test < resources.REPORT_MAP_COMPONENTS + 2:
        raise ParamsError(
            f"data.test_size = {n_test}: the report's 2-D UMAP map needs at least"
            f" {resources.REPORT_MAP_COMPONENTS + 2} test images"
        )
    if params["cluster"]["manifold"] != "umap":
        return
    if umap["n_neighbors"] >= n_train:
        raise ParamsError(
            f"cluster.umap.n_neighbors = {umap['n_neighbors']}: must be below data.train_size = {n_train}"
        )
    if umap["n_components"] >= n_train - 1:
        raise ParamsError(
            f"cluster.umap.n_components = {umap['n_components']}: must be below data.train_size - 1"
            f" = {n_train - 1} (UMAP's spectral initialisation)"
        )


def _check_memory(params):
    """Refuse params whose stage would need more memory than this machine has, naming the key most responsible."""
    available = resources.machine_memory()
    sizes = (split_size(params, "train"), split_size(params, "test"))
    for stage, parts in resources.estimates(params, *sizes, IMAGE_SHAPE).items():  # the IDX datasets' shape
        needed = sum(parts.values())
        if needed > available:
            key = max(parts, key=parts.get)
            raise ParamsError(
                f"{key} = {shown(value_of(params, key))}: the {stage} stage needs about {resources.gib(needed)}"
                f" of memory (estimate), this machine has {resources.gib(available)}"
            )


def _check_backend(params):
    """The Keras backend must be installed; finding its package imports nothing."""
    name = params["autoencoder"]["backend"]
    if importlib.util.find_spec(name) is None:
        raise ParamsError(
            f"autoencoder.backend = {shown(name)}: {name} is not installed here; install it with `{BACKENDS[name]}`"
        )


def validate(params):
    """Raise ParamsError naming the first problem in ``params``; return them unchanged."""
    _validate(params, SCHEMA)
    _check_dataset(params)
    _check_backend(params)
    _check_clusters(params)
    _check_umap(params)
    _check_memory(params)
    return params


def parse(raw, name="params.yaml"):
    """The values of the params file ``name`` whose bytes are ``raw``, read as DVC reads it.

    DVC reads params.yaml as UTF-8 and YAML 1.2 with ruamel.yaml (``1e-3`` is a number there,
    ``yes`` a string), so every value `dvc params diff` shows is the value a stage gets. The
    values are plain Python ones (dict, list, int, float, str, bool); a problem is a one-line ParamsError.
    A file over MAX_PARAMS_BYTES, nested deeper than MAX_DEPTH or with an alias (``*name``, which can
    expand exponentially) is refused before it is composed.
    """
    from ruamel.yaml import YAML, YAMLError

    if len(raw) > MAX_PARAMS_BYTES:
        raise ParamsError(f"{name}: {len(raw):,} bytes; expected at most {MAX_PARAMS_BYTES:,}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParamsError(
            f"{name}: not valid UTF-8 (byte 0x{raw[error.start]:02x} at offset {error.start}); save it as UTF-8"
        ) from None
    _check_flow_depth(text, name)
    yaml = YAML(typ="safe", pure=True)
    try:
        _check_events(yaml.parse(text), name)
        return yaml.load(text)
    except ParamsError:
        raise
    except (YAMLError, ValueError) as error:  # ValueError: an integer of over 4300 digits
        raise ParamsError(f"{name}: not valid YAML ({clipped(' '.join(str(error).split()), 200)})") from None


def _check_flow_depth(text, name):
    """ParamsError if brackets (``[``, ``{``) nest deeper than MAX_DEPTH: ruamel's scanner is quadratic in their depth.

    Counted on the raw text, brackets in quotes or comments too: an overestimate no real params file comes near.
    """
    depth = 0
    for char in text:
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ParamsError(f"{name}: brackets nested more than {MAX_DEPTH} deep; expected at most {MAX_DEPTH}")
        elif char in "]}":
            depth = max(depth - 1, 0)


def _check_events(events, name):
    """ParamsError at the first alias or at nesting deeper than MAX_DEPTH among the YAML ``events``."""
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent

    depth = 0
    for event in events:
        line = event.start_mark.line + 1
        if isinstance(event, AliasEvent):
            raise ParamsError(f"{name}: line {line}: an alias (*{clipped(str(event.anchor))}); write the value out")
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ParamsError(
                    f"{name}: line {line}: nested more than {MAX_DEPTH} deep; expected at most {MAX_DEPTH}"
                )
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


def load(path="params.yaml"):
    """Read and validate ``path``; every problem becomes a one-line ParamsError."""
    path = Path(path)
    try:
        params = parse(path.read_bytes(), path)
    except FileNotFoundError:
        raise ParamsError(f"{path}: not found; run from the repository root") from None
    try:
        return validate(params)
    except ParamsError as error:
        raise ParamsError(f"{path}: {error}") from None
