"""The Python API: ``import digitclust`` is light, and its names resolve to the method's functions."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import digitclust
from digitclust import api
from digitclust.method import clustering, refinement, training
from helpers import ROOT, environment

HEAVY = ("keras", "sklearn", "umap", "tensorflow")


@pytest.mark.parametrize("module", ["digitclust", "digitclust.pipeline.params"])
def test_importing_the_package_or_the_params_check_loads_no_heavy_library(module):
    code = f"import sys, {module}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment(), capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_every_name_of_the_api_resolves_to_a_documented_function():
    assert set(digitclust.__all__) <= set(dir(digitclust))
    for name in digitclust.__all__:
        function = getattr(digitclust, name)
        assert callable(function) and function.__doc__, name
    assert digitclust.refine is refinement.refine and digitclust.fit_autoencoder is training.fit_autoencoder
    assert digitclust.cluster is clustering.cluster and digitclust.load_dataset is api.load_dataset


def test_an_unknown_name_is_an_attribute_error_listing_the_api():
    with pytest.raises(AttributeError, match="no attribute 'fit'; the API is: load_dataset, deskew"):
        digitclust.fit  # noqa: B018


def test_submodules_still_import_through_the_package():
    from digitclust import errors

    assert errors.PipelineError.__module__ == "digitclust.errors"


def test_the_default_datasets_are_those_of_params_yaml():
    assert yaml.safe_load((ROOT / "params.yaml").read_text())["data"]["datasets"] == api.DEFAULT_DATASETS


def test_the_api_options_default_to_params_yaml():
    defaults = yaml.safe_load(Path(ROOT / "params.yaml").read_text())
    import inspect

    fit = inspect.signature(training.fit_autoencoder).parameters
    for key in ("architecture", "code_size", "epochs", "batch_size", "optimizer", "learning_rate", "loss", "xla"):
        assert fit[key].default == defaults["autoencoder"][key], key
    refine = inspect.signature(refinement.refine).parameters
    for key in ("epochs", "batch_size", "learning_rate"):
        assert refine[key].default == defaults["refine"][key], key
    for key, value in defaults["refine"]["augment"].items():
        assert refine[key].default == value, key
    gmm = inspect.signature(clustering.gmm).parameters
    for key, value in defaults["cluster"]["gmm"].items():
        assert gmm[key].default == value, key


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "cifar10"}, "name='cifar10': expected one of mnist, fashion_mnist"),
        ({"train_size": 70_000}, "train_size=70000: expected an integer from 0 to 60000"),
        ({"test_size": -1}, "test_size=-1: expected an integer from 0 to 10000"),
    ],
)
def test_load_dataset_refuses_bad_arguments_before_fetching(kwargs, message):
    with pytest.raises(ValueError, match=message):
        api.load_dataset(**kwargs)


def test_load_dataset_returns_float_images_and_the_first_samples(tiny_dataset, tiny_checksums, tmp_path):
    from conftest import write_idx_dir

    folder = write_idx_dir(tmp_path / "idx", tiny_dataset)
    x_train, y_train, x_test, y_test = api.load_dataset(
        train_size=5, sources=[{"kind": "idx_dir", "path": str(folder)}], sha256=tiny_checksums
    )
    assert x_train.shape == (5, 28, 28) and x_train.dtype == "float32" and x_test.shape == (4, 28, 28)
    assert (
        (x_train == tiny_dataset["x_train"][:5].astype("float32") / np.float32(255)).all()
        and x_train.min() >= 0
        and x_train.max() <= 1
    )
    assert y_train.tolist() == tiny_dataset["y_train"][:5].tolist() and len(y_test) == 4
