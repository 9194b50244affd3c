import copy
from pathlib import Path

import pytest
import yaml

from digitclust import params

DEFAULTS = yaml.safe_load((Path(__file__).parents[1] / "params.yaml").read_text())


def with_change(key, value):
    """The default params with dotted ``key`` set to ``value`` (None removes it)."""
    changed = copy.deepcopy(DEFAULTS)
    params.set_value(changed, key, value)
    return changed


def test_the_committed_params_are_valid():
    assert params.load(Path(__file__).parents[1] / "params.yaml") == DEFAULTS


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("autoencoder.epoch", 5, "autoencoder.epoch: unknown key; allowed here: architecture, deskew, code_size, epochs"),
        ("autoencoder.epochs", None, "autoencoder.epochs: missing"),
        ("autoencoder.epochs", 0, "autoencoder.epochs = 0: expected an integer >= 1"),
        ("autoencoder.epochs", "10", "autoencoder.epochs = '10': expected an integer >= 1"),
        ("autoencoder.epochs", True, "autoencoder.epochs = True: expected an integer >= 1"),
        ("autoencoder.batch_size", 0, "autoencoder.batch_size = 0: expected an integer >= 1"),
        ("autoencoder.code_size", -1, "autoencoder.code_size = -1: expected an integer >= 1"),
        ("autoencoder.learning_rate", 0, "autoencoder.learning_rate = 0: expected a number > 0"),
        ("autoencoder.architecture", "vae", "autoencoder.architecture = 'vae': expected one of dense, conv"),
        ("autoencoder.optimizer", "lbfgs", "autoencoder.optimizer = 'lbfgs': expected one of adam"),
        ("autoencoder.loss", "l1", "autoencoder.loss = 'l1': expected one of mse, binary_crossentropy"),
        ("data.dataset", "cifar10", "data.dataset = 'cifar10': expected one of mnist, fashion_mnist"),
        ("data.train_size", 70000, "data.train_size = 70000: expected an integer from 0 to 60000"),
        ("data.sources.mnist", [{"kind": "ftp", "url": "x"}], "data.sources.mnist = [{'kind': 'ftp'"),
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
    ],
)
def test_a_bad_value_is_named_with_what_is_allowed(key, value, message):
    with pytest.raises(params.ParamsError) as caught:
        params.validate(with_change(key, value))
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


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
