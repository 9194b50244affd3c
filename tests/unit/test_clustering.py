"""The report's cluster summaries: typical members, also of clusters smaller than asked for."""

import logging

import numpy as np
import pytest

from digitclust.method import clustering, embedding
from digitclust.pipeline import quiet, stage
from digitclust.report import plots


def test_a_cluster_smaller_than_typical_images_leaves_its_cells_blank(tmp_path):
    features = np.array([[0.0], [1.0], [3.0], [10.0], [10.5]])  # cluster 0: three members, cluster 1: two
    nearest, farthest = clustering.typical_members(features, np.array([0, 0, 0, 1, 1]), k=2, n=3)
    assert nearest.tolist() == [[1, 0, 2], [3, 4, -1]]
    assert farthest.tolist() == [[2, 0, 1], [4, 3, -1]]
    images = np.zeros((5, 28, 28), dtype=np.float32)
    rows = [[images[i] if i >= 0 else None for i in (*nearest[c], *farthest[c])] for c in range(2)]
    plots.image_grid(rows, tmp_path / "typical.png", "title", ["0", "1"], ["typical 1", "typical 2", "typical 3"] * 2)
    assert (tmp_path / "typical.png").stat().st_size > 0


def test_umap_prints_nothing_unless_verbose(capfd):
    quiet.import_quietly("umap")
    features = np.random.default_rng(0).random((300, 8), dtype=np.float32)
    embedded = embedding.fit_umap(features, n_components=2, n_neighbors=10, min_dist=0.0, n_epochs=20, seed=0)
    assert embedded.shape == (300, 2) and np.isfinite(embedded).all()
    printed = capfd.readouterr()
    assert (printed.out, printed.err) == ("", "")  # no progress, no warning


def test_umap_reports_its_progress_through_the_stage_log_and_prints_nothing(capfd, caplog):
    caplog.set_level(logging.INFO)
    quiet.import_quietly("umap")
    features = np.random.default_rng(0).random((300, 8), dtype=np.float32)
    with quiet.printed_to_log(stage.log, skip_prefix="UMAP("):  # as the cluster and report stages call it
        embedding.fit_umap(features, n_components=2, n_neighbors=10, min_dist=0.0, n_epochs=20, seed=0, verbose=True)
    printed = capfd.readouterr()
    assert (printed.out, printed.err) == ("", "")  # no repr of the neighbour graph, no warning
    messages = [record.getMessage() for record in caplog.records]
    assert "completed 10 / 20 epochs" in messages and "Construct embedding" in messages
    assert not any("array(" in message for message in messages)


def blobs(n, rng, centres):
    """``n`` points around each of ``centres`` (k, d) with unit spread, and the centre (n k,) of each."""
    which = np.repeat(np.arange(len(centres)), n)
    return centres[which] + rng.normal(size=(len(which), centres.shape[1])), which


@pytest.mark.parametrize("covariance_type", clustering.GMM_COVARIANCE_TYPES)
def test_a_gaussian_mixture_finds_separated_blobs_and_assigns_test_points(covariance_type):
    from digitclust.method import metrics

    rng = np.random.default_rng(0)
    centres = rng.normal(scale=10, size=(4, 5))
    (train, train_truth), (test, test_truth) = blobs(200, rng, centres), blobs(50, rng, centres)
    train_ids, test_ids = clustering.gmm(train, test, k=4, covariance_type=covariance_type, seed=0)
    assert train_ids.shape == (800,) and test_ids.shape == (200,) and set(train_ids) == {0, 1, 2, 3}
    assert metrics.scores(train_truth, train_ids)["purity"] > 0.99
    assert metrics.scores(test_truth, test_ids)["purity"] > 0.99
    again = clustering.cluster(train, test, method="gmm", k=4, covariance_type=covariance_type, seed=0)
    assert np.array_equal(again[0], train_ids) and np.array_equal(again[1], test_ids)  # seeded


def test_the_gmm_choices_are_scikit_learns():
    from sklearn.mixture import GaussianMixture

    constraints = GaussianMixture._parameter_constraints
    assert set(clustering.GMM_COVARIANCE_TYPES) == constraints["covariance_type"][0].options
    assert set(clustering.GMM_INIT_PARAMS) == constraints["init_params"][0].options


def test_the_registry_lists_its_methods_in_errors():
    assert list(clustering.METHODS) == ["kmeans", "gmm"]
    with pytest.raises(ValueError, match="method='dbscan': expected one of kmeans, gmm"):
        clustering.cluster(np.zeros((4, 2)), np.zeros((2, 2)), method="dbscan")
    with pytest.raises(ValueError, match="covariance_type='round': expected one of full, tied, diag, spherical"):
        clustering.gmm(np.zeros((4, 2)), np.zeros((2, 2)), covariance_type="round")
    with pytest.raises(ValueError, match="'kmeans' is already registered"):
        clustering.register("kmeans", fit=clustering.kmeans, description="again")
