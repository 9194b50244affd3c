"""The report's cluster summaries: typical members, also of clusters smaller than asked for."""

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
