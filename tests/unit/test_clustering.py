"""The report's cluster summaries: typical members, also of clusters smaller than asked for."""

import logging

import numpy as np

from digitclust import clustering, plots


def test_a_cluster_smaller_than_typical_images_leaves_its_cells_blank(tmp_path):
    features = np.array([[0.0], [1.0], [3.0], [10.0], [10.5]])  # cluster 0: three members, cluster 1: two
    nearest, farthest = clustering.typical_members(features, np.array([0, 0, 0, 1, 1]), k=2, n=3)
    assert nearest.tolist() == [[1, 0, 2], [3, 4, -1]]
    assert farthest.tolist() == [[2, 0, 1], [4, 3, -1]]
    images = np.zeros((5, 28, 28), dtype=np.float32)
    rows = [[images[i] if i >= 0 else None for i in (*nearest[c], *farthest[c])] for c in range(2)]
    plots.image_grid(rows, tmp_path / "typical.png", "title", ["0", "1"], ["typical 1", "typical 2", "typical 3"] * 2)
    assert (tmp_path / "typical.png").stat().st_size > 0


def test_umap_reports_its_progress_through_the_log_and_prints_nothing(capfd, caplog):
    caplog.set_level(logging.INFO)
    features = np.random.default_rng(0).random((300, 8), dtype=np.float32)
    embedding = clustering.fit_umap(features, n_components=2, n_neighbors=10, min_dist=0.0, n_epochs=20, seed=0)
    assert embedding.shape == (300, 2) and np.isfinite(embedding).all()
    printed = capfd.readouterr()
    assert (printed.out, printed.err) == ("", "")  # no repr of the neighbour graph, no warning, no native start-up line
    messages = [record.getMessage() for record in caplog.records]
    assert "completed 10 / 20 epochs" in messages and "Construct embedding" in messages
    assert not any("array(" in message for message in messages)
