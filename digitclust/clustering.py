"""K-Means (with visible progress over its restarts) and an optional UMAP step.

Models are fitted on the train split only; test samples are assigned with the
fitted models, never fitted on.
"""

import logging
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors

from digitclust import quiet

log = logging.getLogger(__name__)


def fit_kmeans(features, k, n_init, max_iter, algorithm, seed):
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


def nearest_neighbours(reference, queries, k):
    """Exact k nearest ``reference`` rows (N, D) of each ``queries`` row (M, D), on all cores.

    Returns ``(indices, distances)``, both (M, k), nearest first.
    """
    search = NearestNeighbors(n_neighbors=k, algorithm="brute", n_jobs=-1).fit(reference)
    distances, indices = search.kneighbors(queries)
    return indices, distances.astype(np.float32)


def _import_umap():
    """umap-learn, imported only where needed (loading numba is slow), without TensorFlow's start-up lines."""
    with quiet.native_logs_discarded():  # umap imports TensorFlow for its parametric variant
        import umap
        import umap.umap_
    return umap


def fit_umap(features, n_components, n_neighbors, min_dist, n_epochs, seed):
    """Embed ``features`` (N, d) with a seeded UMAP; return the (N, n_components) embedding.

    The neighbour graph is an exact search done on all cores, so only UMAP's
    layout runs on one core (seeding makes it do so).
    """
    umap = _import_umap()
    log.info("exact %d-nearest-neighbour graph of %d points", n_neighbors, len(features))
    indices, distances = nearest_neighbours(features, features, n_neighbors)
    reducer = umap.UMAP(
        n_components=n_components,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        n_epochs=n_epochs,
        random_state=seed,
        n_jobs=1,
        precomputed_knn=(indices, distances, None),
        verbose=True,
        tqdm_kwds={"disable": True},  # verbose already logs every few epochs
    )
    with quiet.printed_to_log(log, skip_prefix="UMAP("), warnings.catch_warnings():  # its repr prints the whole graph
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")  # we never call its transform
        return reducer.fit_transform(features).astype(np.float32)


def umap_embed(train_codes, test_codes, n_components, n_neighbors, min_dist, n_epochs, seed):
    """Embed train codes (N, d) with ``fit_umap``; place test codes (M, d) among them.

    Each test point lands at the membership-weighted mean of its train neighbours'
    positions, which is how UMAP's own transform starts; test codes never shape the
    embedding. Returns embeddings (N, n_components) and (M, n_components).
    """
    smooth_knn_dist = _import_umap().umap_.smooth_knn_dist
    train_embedding = fit_umap(train_codes, n_components, n_neighbors, min_dist, n_epochs, seed)
    log.info("placing %d test codes by their train neighbours", len(test_codes))
    indices, distances = nearest_neighbours(train_codes, test_codes, n_neighbors)
    sigmas, rhos = smooth_knn_dist(distances, float(n_neighbors))
    weights = np.exp(-np.maximum(distances - rhos[:, None], 0) / sigmas[:, None])
    weights /= weights.sum(axis=1, keepdims=True)
    test_embedding = np.einsum("mk,mkc->mc", weights, train_embedding[indices])
    return train_embedding, test_embedding.astype(np.float32)


def cluster_codes(train_codes, test_codes, params, seed):
    """Cluster codes (N, d) with K-Means, after UMAP when ``params["cluster"]["manifold"]`` is umap.

    Returns ``(train_assignments, test_assignments)``, integer arrays of shapes (N_train,) and (N_test,).
    """
    if params["cluster"]["manifold"] == "umap":
        umap_params = params["cluster"]["umap"]
        log.info("embedding %d train codes with UMAP %s", len(train_codes), umap_params)
        train_codes, test_codes = umap_embed(train_codes, test_codes, **umap_params, seed=seed)
    kmeans = fit_kmeans(train_codes, **params["kmeans"], seed=seed)
    return kmeans.labels_, kmeans.predict(np.asarray(test_codes, dtype=np.float32))


def cluster_means(features, assignments, k):
    """Mean of ``features`` (N, ...) over the members of each of ``k`` clusters: (k, ...).

    A cluster without members gets zeros.
    """
    means = np.zeros((k, *features.shape[1:]), dtype=np.float32)
    for cluster in range(k):
        members = features[assignments == cluster]
        if len(members):
            means[cluster] = members.mean(axis=0, dtype=np.float64)
    return means


def typical_members(features, assignments, k, n):
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
