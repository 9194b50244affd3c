"""K-Means (with visible progress over its restarts) and an optional UMAP step.

Models are fitted on the train split only; test samples are assigned with the
fitted models, never fitted on.
"""

import logging

import numpy as np
from sklearn.cluster import KMeans

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


def fit_umap(features, n_components, n_neighbors, min_dist, seed):
    """Fit a seeded UMAP on ``features`` (N, D); return the model and the (N, n_components) embedding."""
    import umap  # imported here: loading numba is slow and only this step needs it

    model = umap.UMAP(
        n_components=n_components,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        random_state=seed,
        verbose=True,
    )
    embedding = model.fit_transform(features)
    return model, embedding.astype(np.float32)


def cluster_codes(train_codes, test_codes, params, seed):
    """Cluster codes (N, d) with K-Means, after UMAP when ``params["cluster"]["manifold"]`` is umap.

    Returns ``(train_assignments, test_assignments)``, integer arrays of shapes (N_train,) and (N_test,).
    """
    if params["cluster"]["manifold"] == "umap":
        umap_params = params["cluster"]["umap"]
        log.info("embedding %d train codes with UMAP %s", len(train_codes), umap_params)
        reducer, train_codes = fit_umap(train_codes, **umap_params, seed=seed)
        log.info("embedding %d test codes with the fitted UMAP", len(test_codes))
        test_codes = reducer.transform(test_codes).astype(np.float32)
    kmeans = fit_kmeans(train_codes, **params["kmeans"], seed=seed)
    return kmeans.labels_, kmeans.predict(np.asarray(test_codes, dtype=np.float32))
