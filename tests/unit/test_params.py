import copy
import importlib.util
import time
from pathlib import Path

import pytest
import yaml

from digitclust.pipeline import params, resources

DEFAULTS = yaml.safe_load((Path(__file__).parents[2] / "params.yaml").read_text())
GIB = 2**30
INF, NAN = yaml.safe_load(".inf"), yaml.safe_load(".nan")  # what params.yaml's .inf and .nan load as


@pytest.fixture(autouse=True)
def machine_of_24_gib(monkeypatch):
    """The memory check sees a 24 GiB machine, whatever runs the tests."""
    monkeypatch.setattr(resources, "machine_memory", lambda: 24 * GIB)


def with_changes(changes):
    """The default params with each dotted key of ``changes`` set to its value (None removes it)."""
    changed = copy.deepcopy(DEFAULTS)
    for key, value in changes.items():
        params.set_value(changed, key, value)
    return changed


def with_change(key, value):
    """The default params with dotted ``key`` set to ``value`` (None removes it)."""
    return with_changes({key: value})


def assert_refused(changed, message):
    with pytest.raises(params.ParamsError) as caught:
        params.validate(changed)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_the_committed_params_are_valid():
    assert params.load(Path(__file__).parents[2] / "params.yaml") == DEFAULTS


@pytest.mark.parametrize(
    "key, value, message",
    [
        (
            "autoencoder.epoch",
            5,
            "autoencoder.epoch: unknown key; allowed here: architecture, deskew, code_size, epochs",
        ),
        ("autoencoder.epochs", None, "autoencoder.epochs: missing"),
        ("autoencoder.epochs", 0, "autoencoder.epochs = 0: expected an integer >= 1"),
        ("autoencoder.epochs", "10", "autoencoder.epochs = '10': expected an integer >= 1"),
        ("autoencoder.epochs", True, "autoencoder.epochs = True: expected an integer >= 1"),
        ("autoencoder.batch_size", 0, "autoencoder.batch_size = 0: expected an integer >= 1"),
        ("autoencoder.code_size", -1, "autoencoder.code_size = -1: expected an integer >= 1"),
        ("autoencoder.learning_rate", 0, "autoencoder.learning_rate = 0: expected a number > 0"),
        ("refine.learning_rate", 10, "refine.learning_rate = 10: expected a number > 0 and <= 1"),
        ("refine.epochs", 0, "refine.epochs = 0: expected an integer >= 1"),
        ("refine.batch_size", 0, "refine.batch_size = 0: expected an integer >= 1"),
        ("refine.augment.translation", "0.1", "refine.augment.translation = '0.1': expected a number >= 0"),
        ("refine.augment.zoom", 1.5, "refine.augment.zoom = 1.5: expected a number from 0 to 1"),
        ("refine.augment.rotation", -0.1, "refine.augment.rotation = -0.1: expected a number >= 0"),
        ("refine.enabled", "no", "refine.enabled = 'no': expected true or false"),
        ("autoencoder.architecture", "vae", "autoencoder.architecture = 'vae': expected one of dense, conv"),
        ("cluster.method", "dbscan", "cluster.method = 'dbscan': expected one of kmeans, gmm"),
        ("cluster.method", None, "cluster.method: missing"),
        (
            "cluster.gmm.covariance_type",
            "round",
            "cluster.gmm.covariance_type = 'round': expected one of full, tied, diag, spherical",
        ),
        (
            "cluster.gmm.init_params",
            "kmeans++",
            "cluster.gmm.init_params = 'kmeans++': expected one of kmeans, k-means++",
        ),
        ("cluster.gmm.n_init", 0, "cluster.gmm.n_init = 0: expected an integer >= 1"),
        ("cluster.gmm.n_init", 5000, "cluster.gmm.n_init = 5000: expected an integer from 1 to 1000"),
        ("cluster.gmm.max_iter", 10**6, "cluster.gmm.max_iter = 1000000: expected an integer from 1 to 100000"),
        ("cluster.gmm.reg_covar", -1.0, "cluster.gmm.reg_covar = -1.0: expected a number >= 0"),
        ("cluster.gmm.tol", 0.1, "cluster.gmm.tol: unknown key; allowed here: covariance_type, n_init, max_iter"),
        ("autoencoder.optimizer", "lbfgs", "autoencoder.optimizer = 'lbfgs': expected one of adam"),
        ("autoencoder.loss", "l1", "autoencoder.loss = 'l1': expected one of mse, binary_crossentropy"),
        ("data.dataset", "cifar10", "data.dataset = 'cifar10': expected one of mnist, fashion_mnist"),
        # A dataset is declared by params alone: the SHA-256 of its four IDX files (and mnist.npz for npz_url)
        # and its sources.
        (
            "data.datasets.mnist.sha256.t10k-labels-idx1-ubyte",
            "ff7bcfd4",
            "data.datasets.mnist.sha256.t10k-labels-idx1-ubyte = 'ff7bcfd4'"
            ": expected a SHA-256, 64 lowercase hex digits",
        ),
        (
            "data.datasets.mnist.sha256.t10k-labels-idx1-ubyte",
            "F" * 64,
            f"data.datasets.mnist.sha256.t10k-labels-idx1-ubyte = '{'F' * 64}': expected a SHA-256",
        ),
        (
            "data.datasets.mnist.sha256.t10k-labels-idx1-ubyte",
            None,
            "data.datasets.mnist.sha256.t10k-labels-idx1-ubyte: missing",
        ),
        (
            "data.datasets.fashion_mnist.sha256.readme",
            "0" * 64,
            "data.datasets.fashion_mnist.sha256.readme: unknown file; allowed here: train-images-idx3-ubyte, ",
        ),
        ("data.datasets.fashion_mnist.sha256", None, "data.datasets.fashion_mnist.sha256: missing"),
        (
            "data.datasets.fashion_mnist.url",
            "x",
            "data.datasets.fashion_mnist.url: unknown key; allowed here: sha256, sources",
        ),
        (
            "data.datasets.2nd-mnist",
            {},
            "data.datasets: dataset name '2nd-mnist': expected a name of letters, digits and _",
        ),
        ("data.datasets", {}, "data.datasets = {}: expected a mapping of dataset names"),
        ("data.train_size", -1, "data.train_size = -1: expected an integer >= 0"),
        ("data.datasets.mnist.sources", [{"kind": "ftp", "url": "x"}], "data.datasets.mnist.sources = [{'kind': 'ftp'"),
        ("autoencoder.checkpoint", "yes", "autoencoder.checkpoint = 'yes': expected true or false"),
        ("autoencoder.deskew", 1, "autoencoder.deskew = 1: expected true or false"),
        ("autoencoder.xla", "yes", "autoencoder.xla = 'yes': expected true or false"),
        ("report.typical_images", 0, "report.typical_images = 0: expected an integer >= 1"),
        ("kmeans.k", 1, "kmeans.k = 1: expected an integer >= 2"),
        ("cluster.manifold", "tsne", "cluster.manifold = 'tsne': expected one of none, umap"),
        ("cluster.umap.min_dist", -0.1, "cluster.umap.min_dist = -0.1: expected a number >= 0"),
        ("cluster.umap.n_epochs", 0, "cluster.umap.n_epochs = 0: expected an integer >= 1"),
        ("kmeans.algorithm", "auto", "kmeans.algorithm = 'auto': expected one of lloyd, elkan"),
        ("seed", 1.5, "seed = 1.5: expected an integer from 0 to 2147483647"),
        # Numbers must be finite.
        ("autoencoder.learning_rate", INF, "autoencoder.learning_rate = inf: expected a number > 0 and finite"),
        ("autoencoder.learning_rate", NAN, "autoencoder.learning_rate = nan: expected a number > 0 and finite"),
        (
            "autoencoder.learning_rate",
            10**400,
            f"autoencoder.learning_rate = {str(10**400)[:79]}…: expected a number > 0 and finite",  # cut to 80
        ),
        ("data.timeout_s", INF, "data.timeout_s = inf: expected a number > 0 and <= 3600"),
        ("data.timeout_s", -INF, "data.timeout_s = -inf: expected a number > 0"),
        ("data.timeout_s", 1e10, "data.timeout_s = 10000000000.0: expected a number > 0 and <= 3600"),
        ("cluster.umap.min_dist", NAN, "cluster.umap.min_dist = nan: expected a number >= 0"),
        ("cluster.umap.min_dist", INF, "cluster.umap.min_dist = inf: expected a number from 0 to 1"),
        # Malformed sources.
        (
            "data.datasets.mnist.sources",
            [{"kind": ["npm"], "package": "x"}],
            "data.datasets.mnist.sources = [{'kind': ['npm'], 'package': 'x'}]"
            ": expected a non-empty list of sources, each one of: {kind: npz_url, url: <text>}",
        ),
        (
            "data.datasets.mnist.sources",
            [{"kind": "idx_dir", "path": ["a"]}],
            "data.datasets.mnist.sources = [{'kind': 'idx_dir', 'path': ['a']}]: expected a non-empty list",
        ),
        (
            "data.datasets.mnist.sources",
            [{"kind": "npz_url", "url": ""}],
            "data.datasets.mnist.sources = [{'kind': 'npz_url', 'url': ''}]: expected a non-empty list",
        ),
        (
            "data.datasets.mnist.sources",
            [{"kind": "npm"}],
            "data.datasets.mnist.sources = [{'kind': 'npm'}]: expected a non-empty list",
        ),
        (
            "data.datasets.mnist.sources",
            [{"kind": "npm", "package": "x", "url": "y"}],
            "data.datasets.mnist.sources = [{'kind': 'npm', 'package': 'x', 'url': 'y'}]: expected",
        ),
        (
            "data.datasets.mnist.sources",
            ["data/idx"],
            "data.datasets.mnist.sources = ['data/idx']: expected a non-empty list",
        ),
        (
            "data.datasets.fashion_mnist.sources",
            [],
            "data.datasets.fashion_mnist.sources = []: expected a non-empty list",
        ),
        # UMAP's own limits.
        ("cluster.umap.min_dist", 1.5, "cluster.umap.min_dist = 1.5: expected a number from 0 to 1"),
        ("cluster.umap.n_neighbors", 1, "cluster.umap.n_neighbors = 1: expected an integer >= 2"),
        ("cluster.umap.n_components", 0, "cluster.umap.n_components = 0: expected an integer >= 1"),
        ("cluster.umap.n_epochs", 10_001, "cluster.umap.n_epochs = 10001: expected an integer from 1 to 10000"),
        # Caps against endless loops and impossible allocations.
        ("kmeans.n_init", 1001, "kmeans.n_init = 1001: expected an integer from 1 to 1000"),
        ("kmeans.max_iter", 100_001, "kmeans.max_iter = 100001: expected an integer from 1 to 100000"),
        ("report.typical_images", 51, "report.typical_images = 51: expected an integer from 1 to 50"),
        ("autoencoder.epochs", 100_001, "autoencoder.epochs = 100001: expected an integer from 1 to 100000"),
        ("autoencoder.batch_size", 60_001, "autoencoder.batch_size = 60001: expected an integer from 1 to 60000"),
    ],
)
def test_a_bad_value_is_named_with_what_is_allowed(key, value, message):
    assert_refused(with_change(key, value), message)


def test_an_npz_url_source_needs_the_checksum_of_mnist_npz():
    changed = copy.deepcopy(DEFAULTS)
    del changed["data"]["datasets"]["mnist"]["sha256"]["mnist.npz"]
    assert_refused(changed, "data.datasets.mnist.sha256.mnist.npz: missing (an npz_url source serves mnist.npz)")
    changed["data"]["datasets"]["mnist"]["sources"] = [{"kind": "idx_dir", "path": "data/idx"}]
    assert params.validate(changed)


def test_a_dataset_declared_in_params_can_be_chosen():
    declared = copy.deepcopy(DEFAULTS["data"]["datasets"]["fashion_mnist"])
    changed = with_changes({"data.datasets.my_digits": declared, "data.dataset": "my_digits"})
    assert params.validate(changed)["data"]["dataset"] == "my_digits"


def test_a_yaml_infinity_is_refused(tmp_path):
    text = (
        (Path(__file__).parents[2] / "params.yaml").read_text().replace("learning_rate: 0.001", "learning_rate: .inf")
    )
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(params.ParamsError, match="autoencoder.learning_rate = inf: expected a number > 0 and finite"):
        params.load(tmp_path / "params.yaml")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"kmeans.k": 60_000}, "kmeans.k = 60000: more clusters than data.test_size = 10000 images"),
        # The report fits UMAP on the test codes whatever the manifold.
        (
            {"cluster.umap.n_neighbors": 59_999},
            "cluster.umap.n_neighbors = 59999: must be below data.test_size = 10000",
        ),
        (
            {"cluster.umap.n_neighbors": 500, "data.test_size": 500, "cluster.manifold": "none"},
            "cluster.umap.n_neighbors = 500"
            ": must be below data.test_size = 500 (the report maps the test codes with UMAP)",
        ),
        (
            {"data.test_size": 3, "kmeans.k": 2, "cluster.umap.n_neighbors": 2},
            "data.test_size = 3: the report's 2-D UMAP map needs at least 4 test images",
        ),
        (
            {"cluster.umap.n_neighbors": 100, "data.train_size": 100},
            "cluster.umap.n_neighbors = 100: must be below data.train_size = 100",
        ),
        (
            {"cluster.umap.n_components": 1_000_000_000},
            "cluster.umap.n_components = 1000000000"
            ": must be below data.train_size - 1 = 59999 (UMAP's spectral initialisation)",
        ),
        (
            {"cluster.umap.n_components": 19, "cluster.umap.n_neighbors": 10, "data.train_size": 20},
            "cluster.umap.n_components = 19: must be below data.train_size - 1 = 19",
        ),
    ],
)
def test_a_bad_combination_is_named(changes, message):
    assert_refused(with_changes(changes), message)


def test_umap_limits_on_the_train_split_apply_only_with_manifold_umap():
    params.validate(with_changes({"cluster.manifold": "none", "cluster.umap.n_components": 1_000_000_000}))


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            {"autoencoder.code_size": 2_000_000_000},
            "autoencoder.code_size = 2000000000"
            ": the train stage needs about 123055.1 GiB of memory (estimate), this machine has 24.0 GiB",
        ),
        (
            {"autoencoder.code_size": 100_000},
            "autoencoder.code_size = 100000"
            ": the encode stage needs about 72.6 GiB of memory (estimate), this machine has 24.0 GiB",
        ),
        (
            {"cluster.umap.n_components": 50_000},
            "cluster.umap.n_components = 50000"
            ": the cluster stage needs about 120.1 GiB of memory (estimate), this machine has 24.0 GiB",
        ),
        (
            {"cluster.umap.n_neighbors": 9_999},
            "cluster.umap.n_neighbors = 9999"
            ": the cluster stage needs about 62.0 GiB of memory (estimate), this machine has 24.0 GiB",
        ),
    ],
)
def test_sizes_this_machine_cannot_hold_are_refused(changes, message):
    assert_refused(with_changes(changes), message)


def test_elkan_bounds_are_refused_on_a_small_machine(monkeypatch):
    monkeypatch.setattr(resources, "machine_memory", lambda: 2 * GIB)
    assert_refused(
        with_changes({"kmeans.k": 10_000, "kmeans.algorithm": "elkan"}),
        "kmeans.k = 10000: the baseline stage needs about 3.3 GiB of memory (estimate), this machine has 2.0 GiB",
    )


def test_an_astronomic_code_size_still_gives_one_line():
    assert_refused(
        with_change("autoencoder.code_size", 10**400),
        f"autoencoder.code_size = {str(10**400)[:79]}…: the train stage needs about",
    )


def test_more_clusters_than_images_is_rejected():
    changed = with_change("data.test_size", 5)
    with pytest.raises(params.ParamsError, match="kmeans.k = 10: more clusters than data.test_size = 5 images"):
        params.validate(changed)


def test_a_missing_file_and_broken_yaml_are_reported(tmp_path):
    with pytest.raises(params.ParamsError, match="params.yaml: not found"):
        params.load(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("seed: [1\n")
    with pytest.raises(params.ParamsError, match="params.yaml: not valid YAML"):
        params.load(tmp_path / "params.yaml")


def test_an_integer_too_long_to_read_is_reported(tmp_path):
    (tmp_path / "params.yaml").write_text("seed: " + "9" * 5000 + "\n")
    with pytest.raises(params.ParamsError, match="params.yaml: not valid YAML"):
        params.load(tmp_path / "params.yaml")


def test_a_backend_that_is_not_installed_says_what_to_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "torch" else object())
    assert_refused(
        with_change("autoencoder.backend", "torch"),
        "autoencoder.backend = 'torch': torch is not installed here; install it with `pip install torch`",
    )
    assert_refused(
        with_change("autoencoder.backend", "mxnet"),
        "autoencoder.backend = 'mxnet': expected one of tensorflow, jax, torch",
    )


def test_an_unknown_architecture_lists_every_registered_one(monkeypatch):
    from digitclust.method import encoders

    monkeypatch.setitem(encoders.ARCHITECTURES, "tiny", encoders.ARCHITECTURES["dense"])
    monkeypatch.setitem(params.SCHEMA["autoencoder"], "architecture", params.choice(*encoders.ARCHITECTURES))
    assert_refused(
        with_change("autoencoder.architecture", "vae"),
        "autoencoder.architecture = 'vae': expected one of dense, conv, tiny",
    )


# params.yaml that attacks its parser: refused at once, in one bounded line (issue 28)

BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


@pytest.mark.parametrize(
    "text, message",
    [
        (BILLION_LAUGHS, "params.yaml: line 2: an alias (*a); write the value out"),
        ("seed: " + "[" * 10**5 + "]" * 10**5, "params.yaml: brackets nested more than 64 deep; expected at most 64"),
        (
            "".join(f"{' ' * i}k{i}:\n" for i in range(200)) + " " * 200 + "0\n",
            "params.yaml: line 65: nested more than 64 deep; expected at most 64",
        ),
        ("seed:\n" + "".join(f"{' ' * i}- \n" for i in range(0, 400, 2)), "params.yaml: line 65: nested more than 64"),
        ("seed: " + "0" * 2_000_000, "params.yaml: 2,000,006 bytes; expected at most 1,000,000"),
    ],
)
def test_a_params_file_that_attacks_the_parser_is_refused_quickly_in_one_line(text, message):
    began = time.monotonic()
    with pytest.raises(params.ParamsError) as caught:
        params.parse(text.encode())
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert time.monotonic() - began < 2


def test_the_committed_params_and_dvc_yaml_pass_the_parser_bounds():
    root = Path(__file__).parents[2]
    assert params.parse((root / "dvc.yaml").read_bytes(), "dvc.yaml")["stages"]


@pytest.mark.parametrize(
    "key, value",
    [
        ("data.dataset", "m" * 100_000),
        ("seed", list(range(100_000))),
        ("data.datasets.mnist.sources", [{"kind": "npz_url", "url": "-" + "x" * 100_000}]),
    ],
)
def test_an_error_never_prints_an_unbounded_value(key, value):
    with pytest.raises(params.ParamsError) as caught:
        params.validate(with_change(key, value))
    assert len(str(caught.value)) < 400 and "…" in str(caught.value), str(caught.value)[:500]


def test_an_unknown_key_of_any_length_is_cut():
    with pytest.raises(params.ParamsError) as caught:
        params.validate(with_change("k" * 100_000, 1))
    assert str(caught.value).startswith(f"{'k' * 79}…: unknown key; allowed here: seed, data")
