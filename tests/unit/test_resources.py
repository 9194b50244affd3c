import copy
import os
from pathlib import Path

import pytest
import yaml

from conftest import TINY
from digitclust.pipeline import params, resources

DEFAULTS = yaml.safe_load((Path(__file__).parents[2] / "params.yaml").read_text())
GIB = 2**30
# Peak memory of the default stages, measured (with the libraries, which the estimates leave out).
MEASURED_PEAK = {"train": 2.1 * GIB, "cluster": 1.1 * GIB, "refine": 1.7 * GIB}


def estimates(changes=None):
    p = copy.deepcopy(DEFAULTS)
    for key, value in (changes or {}).items():
        params.set_value(p, key, value)
    return {
        stage: sum(parts.values())
        for stage, parts in resources.estimates(
            p, params.split_size(p, "train"), params.split_size(p, "test"), (28, 28)
        ).items()
    }


def test_machine_memory_is_whole_pages():
    assert resources.machine_memory() > 0
    assert resources.machine_memory() % os.sysconf("SC_PAGE_SIZE") == 0


@pytest.mark.parametrize("architecture", ["dense", "conv"])
@pytest.mark.parametrize("code_size, image_shape", [(1, (28, 28)), (32, (28, 28)), (4, (8, 8)), (4, (30, 21, 3))])
def test_the_weight_count_is_that_of_the_keras_model(architecture, code_size, image_shape):
    from digitclust.method import encoders

    autoencoder, _ = encoders.build_autoencoder(architecture, code_size=code_size, image_shape=image_shape)
    assert resources.network(architecture, code_size, image_shape)[0] == autoencoder.count_params()


def test_the_classifier_activations_follow_the_image_shape():
    f, hidden = 32, 128
    mnist = 3 * 784 + 26 * 26 * f + 13 * 13 * f + 11 * 11 * 2 * f + 5 * 5 * 2 * f + hidden + 10
    assert resources.classifier_activations(10, (28, 28)) == mnist
    small = 3 * 64 + 8 * 8 * f + 4 * 4 * f + 4 * 4 * 2 * f + 2 * 2 * 2 * f + hidden + 10  # 'same' convolutions
    assert resources.classifier_activations(10, (8, 8)) == small
    assert resources.classifier_activations(10, (8, 8, 3)) == small + 2 * 3 * 64


def test_the_default_estimates_stay_below_the_measured_peaks():
    default = estimates()
    assert set(default) == {"baseline", "train", "encode", "cluster", "refine", "report"}
    assert all(need < MEASURED_PEAK["train"] for need in default.values())
    for stage, peak in MEASURED_PEAK.items():
        assert 0.1 * peak < default[stage] < peak


def test_the_test_params_need_little():
    assert all(need < 0.2 * GIB for need in estimates(TINY).values())


def test_a_refusal_blames_the_largest_allocation():
    p = copy.deepcopy(DEFAULTS)
    params.set_value(p, "kmeans.k", 10_000)
    parts = resources.baseline_stage(p, 60_000, 10_000, (28, 28))
    assert max(parts, key=parts.get) == "kmeans.k"
    assert (
        parts["kmeans.k"] == (60_000 * 10_000 + 2 * 10_000**2 + 3 * 10_000 * 784) * 4
    )  # elkan's bounds and the centres


def test_gib_is_exact_for_any_size():
    assert resources.gib(3 * 2**29) == "1.5 GiB"
    assert resources.gib(0) == "0.0 GiB"
    assert resources.gib(10**400).endswith(" GiB")


def test_a_gaussian_mixture_counts_its_covariances_and_responsibilities():
    p = copy.deepcopy(DEFAULTS)
    params.set_value(p, "cluster.method", "gmm")
    params.set_value(p, "cluster.manifold", "none")
    params.set_value(p, "autoencoder.code_size", 1000)
    n, k, d = 60_000, 10, 1000
    full = resources.cluster_stage(p, n, 10_000, (28, 28))
    assert full["autoencoder.code_size"] >= 3 * k * d * d * 8  # covariances, precisions and their Cholesky factors
    assert full["kmeans.k"] >= 2 * n * k * 8  # log-probabilities and responsibilities
    params.set_value(p, "cluster.gmm.covariance_type", "diag")
    diagonal = resources.cluster_stage(p, n, 10_000, (28, 28))
    assert full["autoencoder.code_size"] - diagonal["autoencoder.code_size"] == 3 * (k * d * d - k * d) * 8
    params.set_value(p, "cluster.gmm.covariance_type", "full")
    params.set_value(p, "autoencoder.code_size", 20_000)  # 10 full covariances of 20000²: 120 GB
    with pytest.raises(params.ParamsError, match="autoencoder.code_size = 20000: the cluster stage needs about"):
        params.validate(p)
