"""K-Means with visible progress over its restarts; cluster means and typical members.

Models are fitted on the train split only; test samples are assigned with the
fitted models, never fitted on.
"""

import logging

import numpy as np
from sklearn.cluster import KMeans

log = logging.getLogger(__name__)


def fit_kmeans(features: np.ndarray, *, k: int, n_init: int = 10, max_iter: int = 300, algorithm: str = "elkan",
               seed: int = 0) -> KMeans:
    """Fit K-Means on ``features`` (N, D) and keep the best of ``n_init`` restarts.

    Each restart is a seeded single-init KMeans, logged with its inertia, so long
    fits show progress. ``algorithm`` is scikit-learn's ``lloyd`` or ``elkan`` (which
    skips the distances the triangle inequality rules out). Returns the fitted
    KMeans with the lowest inertia.
    """
    features = np.asarray(features, dtype=np.float32)
    restart_seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=n_init)
    best = None
    for i, restart_seed in enumerate(restart_seeds, start=1):
        model = KMeans(n_clusters=k, n_init=1, max_iter=max_iter, algorithm=algorithm, random_state=int(restart_seed))
        model.fit(features)
        log.info("k-means restart %d/%d: inertia %.6g after %d iterations", i, n_init, model.inertia_, model.n_iter_)
        if best is None or model.inertia_ < best.inertia_:
            best = model
    return best


def kmeans(train_features: np.ndarray, test_features: np.ndarray, *, k: int, n_init: int = 10, max_iter: int = 300,
           algorithm: str = "elkan", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """K-Means fitted on ``train_features`` (N, d) with ``fit_kmeans``; ``test_features`` (M, d) assigned to it.

    Returns the cluster ids of both, (N,) and (M,).
    """
    model = fit_kmeans(train_features, k=k, n_init=n_init, max_iter=max_iter, algorithm=algorithm, seed=seed)
    return model.labels_, model.predict(np.asarray(test_features, dtype=np.float32))


def cluster_means(features: np.ndarray, assignments: np.ndarray, k: int) -> np.ndarray:
    """Mean of ``features`` (N, ...) over the members of each of ``k`` clusters: (k, ...).

    A cluster without members gets zeros.
    """
    means = np.zeros((k, *features.shape[1:]), dtype=np.float32)
    for cluster in range(k):
        members = features[assignments == cluster]
        if len(members):
            means[cluster] = members.mean(axis=0, dtype=np.float64)
    return means


def typical_members(features: np.ndarray, assignments: np.ndarray, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``n`` members of each cluster nearest to and farthest from its mean.

    Returns two (k, n) integer arrays (nearest first; farthest first). A cluster of
    fewer than n members fills the rest of its rows with -1, so that column i always
    holds the i-th nearest or farthest.
    """
    distances = np.linalg.norm(features - cluster_means(features, assignments, k)[assignments], axis=1)
    nearest, farthest = np.full((k, n), -1), np.full((k, n), -1)
    for cluster in range(k):
        members = np.flatnonzero(assignments == cluster)
        ranked = members[np.argsort(distances[members], kind="stable")]
        shown = min(n, len(ranked))
        nearest[cluster, :shown] = ranked[:shown]
        farthest[cluster, :shown] = ranked[::-1][:shown]
    return nearest, farthest
