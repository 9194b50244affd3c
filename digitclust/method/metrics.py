"""Clustering scores against true labels (purity, Hungarian accuracy, NMI, ARI), and without labels
(the silhouette on the embedding, the largest and the smallest cluster's share)."""

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score


def contingency(labels: np.ndarray, clusters: np.ndarray, *, n_classes: int | None = None) -> np.ndarray:
    """Count matrix (n_clusters, n_classes): entry [c, y] = samples of class y in cluster c.

    ``n_classes`` defaults to the largest label + 1; the clusters are those up to the largest id.
    """
    labels, clusters = np.asarray(labels), np.asarray(clusters)
    if labels.shape != clusters.shape or labels.ndim != 1:
        raise ValueError(f"labels {labels.shape} and clusters {clusters.shape} must be 1-D of equal length")
    table = np.zeros((clusters.max() + 1, n_classes or labels.max() + 1), dtype=np.int64)
    np.add.at(table, (clusters, labels), 1)
    return table


def purity(table: np.ndarray) -> float:
    """Sum over clusters of the largest class count, over N."""
    return float(table.max(axis=1).sum() / table.sum())


def hungarian_accuracy(table: np.ndarray) -> float:
    """Accuracy of the best one-to-one matching of clusters to classes."""
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())


def majority_class(table: np.ndarray) -> np.ndarray:
    """For each cluster, its most frequent class: array (n_clusters,)."""
    return table.argmax(axis=1)


def scores(labels: np.ndarray, clusters: np.ndarray) -> dict[str, float]:
    """All four scores of ``clusters`` (N,) against ``labels`` (N,) as a dict of floats."""
    table = contingency(labels, clusters)
    return {
        "purity": purity(table),
        "accuracy": hungarian_accuracy(table),
        "nmi": float(normalized_mutual_info_score(labels, clusters)),
        "ari": float(adjusted_rand_score(labels, clusters)),
    }


def cluster_sizes(clusters: np.ndarray) -> np.ndarray:
    """The members of each cluster from 0 to the largest id of ``clusters`` (N,): (n_clusters,)."""
    return np.bincount(np.asarray(clusters))


def label_free_scores(
    embedding: np.ndarray, clusters: np.ndarray, *, sample: int = 10_000, seed: int = 0
) -> dict[str, float]:
    """Scores of ``clusters`` (N,) without labels, as a dict of floats.

    ``silhouette``: scikit-learn's on ``embedding`` (N, d), over a seeded sample of at most ``sample``
    points so that its cost stays linear in N (0 when fewer than two clusters are used);
    ``largest_cluster`` and ``smallest_cluster``: the share of N in the largest and in the smallest
    non-empty cluster.
    """
    sizes = cluster_sizes(clusters)
    used = sizes[sizes > 0]
    silhouette = 0.0
    if 1 < len(used) < len(clusters):
        silhouette = float(
            silhouette_score(embedding, clusters, sample_size=min(sample, len(clusters)), random_state=seed)
        )
    return {
        "silhouette": silhouette,
        "largest_cluster": float(used.max() / len(clusters)),
        "smallest_cluster": float(used.min() / len(clusters)),
    }
