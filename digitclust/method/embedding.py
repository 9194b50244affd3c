"""Embedding codes with UMAP (as N2D does), on an exact neighbour graph computed on all cores.

The embedding is fitted on the train codes only; test codes are placed among them.
"""

import logging
import warnings

import numpy as np
from sklearn.neighbors import NearestNeighbors

log = logging.getLogger(__name__)


def nearest_neighbours(reference: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest ``reference`` rows (N, D) of each ``queries`` row (M, D), on all cores.

    Returns ``(indices, distances)``, both (M, k), nearest first.
    """
    search = NearestNeighbors(n_neighbors=k, algorithm="brute", n_jobs=-1).fit(reference)
    distances, indices = search.kneighbors(queries)
    return indices, distances.astype(np.float32)


def fit_umap(
    features: np.ndarray,
    *,
    n_components: int = 10,
    n_neighbors: int = 20,
    min_dist: float = 0.0,
    n_epochs: int = 50,
    seed: int = 0,
    verbose: bool = False,
) -> np.ndarray:
    """Embed ``features`` (N, d) with a seeded UMAP; return the (N, n_components) float32 embedding.

    The neighbour graph is an exact search done on all cores, so only UMAP's
    layout runs on one core (seeding makes it do so). With ``verbose``, UMAP prints
    its progress every few epochs.
    """
    import umap  # imported only where needed: loading numba is slow

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
        verbose=verbose,
        tqdm_kwds={"disable": True},  # verbose already prints every few epochs
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")  # we never call its transform
        return reducer.fit_transform(features).astype(np.float32)


def umap_embed(
    train_codes: np.ndarray,
    test_codes: np.ndarray,
    *,
    n_components: int = 10,
    n_neighbors: int = 20,
    min_dist: float = 0.0,
    n_epochs: int = 50,
    seed: int = 0,
    verbose: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Embed train codes (N, d) with ``fit_umap``; place test codes (M, d) among them.

    Each test point lands at the membership-weighted mean of its train neighbours'
    positions, which is how UMAP's own transform starts; test codes never shape the
    embedding. Returns embeddings (N, n_components) and (M, n_components).
    """
    from umap.umap_ import smooth_knn_dist

    train_embedding = fit_umap(
        train_codes,
        n_components=n_components,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        n_epochs=n_epochs,
        seed=seed,
        verbose=verbose,
    )
    log.info("placing %d test codes by their train neighbours", len(test_codes))
    indices, distances = nearest_neighbours(train_codes, test_codes, n_neighbors)
    sigmas, rhos = smooth_knn_dist(distances, float(n_neighbors))
    weights = np.exp(-np.maximum(distances - rhos[:, None], 0) / sigmas[:, None])
    weights /= weights.sum(axis=1, keepdims=True)
    test_embedding = np.einsum("mk,mkc->mc", weights, train_embedding[indices])
    return train_embedding, test_embedding.astype(np.float32)
