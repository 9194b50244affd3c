"""Clustering scores against true labels: purity, Hungarian accuracy, NMI, ARI."""

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def contingency(labels: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Count matrix (n_clusters, n_classes): entry [c, y] = samples of class y in cluster c."""
    labels, clusters = np.asarray(labels), np.asarray(clusters)
    if labels.shape != clusters.shape or labels.ndim != 1:
        raise ValueError(f"labels {labels.shape} and clusters {clusters.shape} must be 1-D of equal length")
    table = np.zeros((clusters.max() + 1, labels.max() + 1), dtype=np.int64)
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
