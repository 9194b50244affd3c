"""The report's pictures of the clusters: centres, typical members, the 2-D map, reconstructions, score bars.

Each draws from arrays and writes one PNG into the folder ``out``. ``labels`` (N,) are the
true classes, or None for a dataset without labels: clusters are then named by their id,
in id order, and the map is coloured by cluster alone.
"""

import json
from pathlib import Path

import numpy as np

from digitclust.method import clustering, metrics
from digitclust.report import plots

SPLITS = ("train", "test")


def cluster_order(labels, assignments, n_classes):
    """Clusters sorted by their majority class, with a name each ('4 → 0': cluster 4, mostly zeros).

    Without labels, the clusters in id order, named by their id.
    """
    if labels is None:
        order = np.arange(assignments.max() + 1)
        return order, [str(c) for c in order]
    majority = metrics.majority_class(metrics.contingency(labels, assignments, n_classes=n_classes))
    order = np.argsort(majority, kind="stable")
    return order, [f"{c} → {majority[c]}" for c in order]


def _naming(labels):
    return "cluster → majority digit" if labels is not None else "cluster id, no labels"


def baseline_centres(train_images, labels, assignments, k, n_classes, out):
    """The baseline's K-Means centroids: the mean train image (N, H, W[, 3]) of each of ``k`` clusters."""
    order, names = cluster_order(labels, assignments, n_classes)
    centroids = clustering.cluster_means(train_images, assignments, k)[order]
    title = f"baseline: K-Means centroids ({_naming(labels)})"
    plots.image_grid([centroids], out / "centres_baseline.png", title, [""], names)


def decoded_centres(decode, codes, labels, assignments, k, n_classes, out):
    """The decoded mean code (``decode``: codes (k, d) to images) of each of the autoencoder's ``k`` clusters."""
    order, names = cluster_order(labels, assignments, n_classes)
    decoded = decode(clustering.cluster_means(codes, assignments, k)[order])
    title = f"autoencoder: decoded mean code of each cluster ({_naming(labels)})"
    plots.image_grid([decoded], out / "centres_autoencoder.png", title, [""], names)


def typical(images, labels, assignments, codes, k, n, n_classes, out):
    """The ``n`` test ``images`` of each cluster nearest to and farthest from its mean code."""
    nearest, farthest = clustering.typical_members(codes, assignments, k, n)
    order, names = cluster_order(labels, assignments, n_classes)
    rows = [[images[i] if i >= 0 else None for i in (*nearest[c], *farthest[c])] for c in order]
    columns = [f"typical {i + 1}" for i in range(n)] + [f"atypical {i + 1}" for i in range(n)]
    title = f"autoencoder clusters ({_naming(labels)}), test split: most and least typical members"
    plots.image_grid(rows, out / "typical.png", title, names, columns)


def code_map(embedding_2d, labels, clusters, n_classes, out):
    """The test codes mapped to 2-D (N, 2): by cluster and by true class, or by cluster alone without labels."""
    title = "test codes, UMAP to 2-D (autoencoder method)"
    if labels is None:
        plots.cluster_map(embedding_2d, clusters, out / "map.png", title)
        return
    cluster_digits = metrics.majority_class(metrics.contingency(labels, clusters, n_classes=n_classes))[clusters]
    plots.code_map(embedding_2d, cluster_digits, labels, out / "map.png", title, n_classes)


def reconstructions(originals, reconstructed, out):
    """Test inputs (n, H, W[, 3]) above the autoencoder's reconstructions of them."""
    plots.reconstructions(originals, reconstructed, out / "reconstructions.png")


def read_scores(folder, score):
    """``{method: {split: {score: value}}}`` of every ``<method>.json`` in ``folder``, lowest test score first."""
    scores = {path.stem: json.loads(path.read_text())[score] for path in sorted(Path(folder).glob("*.json"))}
    ranked = sorted(scores, key=lambda method: scores[method]["test"])
    return {method: {split: {score: scores[method][split]} for split in SPLITS} for method in ranked}


def score_bars(folder, labelled, out):
    """Bars of every scored method's purity, or its silhouette without labels; saved as purity.png either way."""
    score = "purity" if labelled else "silhouette"
    plots.score_bars(read_scores(folder, score), score, out / "purity.png")
