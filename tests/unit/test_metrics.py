import numpy as np
import pytest

from digitclust.method import metrics


def labels_for(table):
    """Expand a contingency table [cluster, class] into (labels, clusters) arrays."""
    clusters, labels = [], []
    for (cluster, label), count in np.ndenumerate(np.asarray(table)):
        clusters += [cluster] * count
        labels += [label] * count
    return np.array(labels), np.array(clusters)


TABLE = [[5, 1, 0], [2, 0, 4], [3, 6, 1]]  # N = 22


def test_contingency_counts_each_pair():
    labels, clusters = labels_for(TABLE)
    np.testing.assert_array_equal(metrics.contingency(labels, clusters), TABLE)


def test_purity_of_a_known_table():
    # largest class per cluster: 5 + 4 + 6 = 15 of 22
    assert metrics.purity(np.array(TABLE)) == pytest.approx(15 / 22)


def test_purity_counts_a_class_twice_when_two_clusters_share_a_majority():
    table = np.array([[8, 2], [6, 4]])
    assert metrics.purity(table) == pytest.approx(14 / 20)
    assert metrics.hungarian_accuracy(table) == pytest.approx(12 / 20)


def test_hungarian_accuracy_is_one_for_permuted_labels():
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    clusters = np.array([2, 2, 0, 0, 1, 1, 1])
    scores = metrics.scores(labels, clusters)
    assert scores == pytest.approx({"purity": 1.0, "accuracy": 1.0, "nmi": 1.0, "ari": 1.0})


def test_hungarian_accuracy_of_a_known_table():
    # best one-to-one matching: cluster0->class0 (5), cluster1->class2 (4), cluster2->class1 (6)
    assert metrics.hungarian_accuracy(np.array(TABLE)) == pytest.approx(15 / 22)
    # here the greedy choice (cluster 0 -> class 0) is not the best matching
    table = np.array([[5, 4], [5, 0]])
    assert metrics.hungarian_accuracy(table) == pytest.approx(9 / 14)


def test_majority_class_per_cluster():
    np.testing.assert_array_equal(metrics.majority_class(np.array(TABLE)), [0, 2, 1])


def test_contingency_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="equal length"):
        metrics.contingency(np.array([0, 1]), np.array([0]))
