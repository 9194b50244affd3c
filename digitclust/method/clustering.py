"""Clustering methods, registered by name: K-Means (with visible progress over its restarts) and a
Gaussian mixture; cluster means and typical members.

Models are fitted on the train split only; test samples are assigned with the
fitted models, never fitted on. Every method in ``METHODS`` is a function
``fit(train (N, d), test (M, d), *, k, seed, **options) -> (train_ids (N,), test_ids (M,))``;
``cluster.method`` in params.yaml accepts its name (docs/extending.md). Importing this
module does not import scikit-learn, so that params can be checked against the registry
before any heavy import.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sklearn.cluster import KMeans

log = logging.getLogger(__name__)

# scikit-learn's GaussianMixture accepts these (its _parameter_constraints; a test checks them).
GMM_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
GMM_INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


def fit_kmeans(
    features: np.ndarray, *, k: int = 10, n_init: int = 10, max_iter: int = 300, algorithm: str = "elkan", seed: int = 0
) -> "KMeans":
    """Fit K-Means on ``features`` (N, D) and keep the best of ``n_init`` restarts.

    Each restart is a seeded single-init KMeans, logged with its inertia, so long
    fits show progress. ``algorithm`` is scikit-learn's ``lloyd`` or ``elkan`` (which
    skips the distances the triangle inequality rules out). Returns the fitted
    KMeans with the lowest inertia.
    """
    from sklearn.cluster import KMeans

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


def kmeans(
    train_features: np.ndarray,
    test_features: np.ndarray,
    *,
    k: int = 10,
    n_init: int = 10,
    max_iter: int = 300,
    algorithm: str = "elkan",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """K-Means fitted on ``train_features`` (N, d) with ``fit_kmeans``; ``test_features`` (M, d) assigned to it.

    Returns the cluster ids of both, (N,) and (M,).
    """
    model = fit_kmeans(train_features, k=k, n_init=n_init, max_iter=max_iter, algorithm=algorithm, seed=seed)
    return model.labels_, model.predict(np.asarray(test_features, dtype=np.float32))


def gmm(
    train_features: np.ndarray,
    test_features: np.ndarray,
    *,
    k: int = 10,
    covariance_type: str = "full",
    n_init: int = 1,
    max_iter: int = 100,
    init_params: str = "kmeans",
    reg_covar: float = 1e-6,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A Gaussian mixture of ``k`` components (N2D's choice) fitted on ``train_features`` (N, d), seeded.

    ``covariance_type`` (full, tied, diag, spherical), ``n_init``, ``max_iter``, ``init_params``
    and ``reg_covar`` are scikit-learn's ``GaussianMixture`` options. Each sample of both
    splits goes to its most probable component: returns ids (N,) and (M,), int64.
    """
    from sklearn.mixture import GaussianMixture

    if covariance_type not in GMM_COVARIANCE_TYPES:
        raise ValueError(f"covariance_type={covariance_type!r}: expected one of {', '.join(GMM_COVARIANCE_TYPES)}")
    train_features = np.asarray(train_features, dtype=np.float32)
    model = GaussianMixture(
        n_components=k,
        covariance_type=covariance_type,
        n_init=n_init,
        max_iter=max_iter,
        init_params=init_params,
        reg_covar=reg_covar,
        random_state=seed,
    )
    train_ids = model.fit_predict(train_features)
    log.info(
        "gaussian mixture: lower bound %.6g after %d iterations%s",
        model.lower_bound_,
        model.n_iter_,
        "" if model.converged_ else " (not converged: raise cluster.gmm.max_iter)",
    )
    return train_ids.astype(np.int64), model.predict(np.asarray(test_features, dtype=np.float32)).astype(np.int64)


Fit = Callable[..., tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Method:
    """A clustering method: ``fit(train (N, d), test (M, d), *, k, seed, **options) -> (ids (N,), ids (M,))``."""

    fit: Fit
    description: str


METHODS: dict[str, Method] = {}


def register(name: str, *, fit: Fit, description: str) -> None:
    """Make the clustering method ``name`` available to ``cluster`` and to params.yaml's ``cluster.method``."""
    if name in METHODS:
        raise ValueError(f"clustering method {name!r} is already registered")
    METHODS[name] = Method(fit, description)


register("kmeans", fit=kmeans, description="K-Means, best of n_init seeded restarts (the kmeans section)")
register("gmm", fit=gmm, description="a Gaussian mixture, as in N2D (the cluster.gmm section)")


def cluster(
    train_features: np.ndarray,
    test_features: np.ndarray,
    *,
    method: str = "kmeans",
    k: int = 10,
    seed: int = 0,
    **options: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster ``train_features`` (N, d) into ``k`` clusters with the registered ``method``.

    ``test_features`` (M, d) are assigned to the fitted clusters.

    ``options`` go to the method's function (``kmeans``: n_init, max_iter, algorithm;
    ``gmm``: covariance_type, n_init, max_iter, init_params, reg_covar). Returns ids (N,) and (M,).
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r}: expected one of {', '.join(METHODS)}")
    return METHODS[method].fit(train_features, test_features, k=k, seed=seed, **options)


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
