"""K-Means (with visible progress over its restarts) and an optional UMAP step.

Models are fitted on the train split only; test samples are assigned with the
fitted models, never fitted on.
"""

import logging

import numpy as np
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors

log = logging.getLogger(__name__)


def fit_kmeans(features, k, n_init, max_iter, seed):
    """Fit K-Means on ``features`` (N, D) and keep the best of ``n_init`` restarts.

    Each restart is a seeded single-init KMeans, logged with its inertia, so long
    fits show progress. Returns the fitted KMeans with the lowest inertia.
    """
    features = np.asarray(features, dtype=np.float32)
    restart_seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=n_init)
    best = None
    for i, restart_seed in enumerate(restart_seeds, start=1):
        model = KMeans(n_clusters=k, n_init=1, max_iter=max_iter, random_state=int(restart_seed))
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


def umap_embed(train_codes, test_codes, n_components, n_neighbors, min_dist, seed):
    """Embed train codes (N, d) with a seeded UMAP; place test codes (M, d) among them.

    The neighbour graph is an exact search done on all cores, so only UMAP's
    layout runs on one core (seeding makes it do so). Each test point lands at the
    membership-weighted mean of its train neighbours' positions, which is how
    UMAP's own transform starts. Returns embeddings (N, n_components) and (M, n_components).
    """
    import umap  # imported here: loading numba is slow and only this step needs it
    from umap.umap_ import smooth_knn_dist

    log.info("exact %d-nearest-neighbour graph of %d train codes", n_neighbors, len(train_codes))
    indices, distances = nearest_neighbours(train_codes, train_codes, n_neighbors)
    reducer = umap.UMAP(
        n_components=n_components,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        random_state=seed,
        n_jobs=1,
        precomputed_knn=(indices, distances, None),
        verbose=True,
        tqdm_kwds={"disable": True},  # verbose already logs every few epochs
    )
    train_embedding = reducer.fit_transform(train_codes).astype(np.float32)

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
