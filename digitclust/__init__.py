"""Clustering MNIST digits: deskew, autoencoder, UMAP, K-Means or a Gaussian mixture, CNN refinement.

The method's steps, importable from here, are loaded on first use (PEP 562), so that
``import digitclust`` stays light: the stage scripts import ``digitclust.pipeline.params``
and check the params before Keras, scikit-learn or UMAP are loaded. docs/python-api.md
runs the whole method from Python.
"""

import importlib
from typing import TYPE_CHECKING

# Each name of the API: (module, name there).
_API = {
    "load_dataset": ("digitclust.api", "load_dataset"),
    "deskew": ("digitclust.method.transforms", "deskew"),
    "build_autoencoder": ("digitclust.method.encoders", "build_autoencoder"),
    "register_architecture": ("digitclust.method.encoders", "register"),
    "fit_autoencoder": ("digitclust.method.training", "fit_autoencoder"),
    "encode": ("digitclust.method.inference", "encode"),
    "embed": ("digitclust.method.embedding", "umap_embed"),
    "cluster": ("digitclust.method.clustering", "cluster"),
    "kmeans": ("digitclust.method.clustering", "kmeans"),
    "gmm": ("digitclust.method.clustering", "gmm"),
    "register_clustering": ("digitclust.method.clustering", "register"),
    "refine": ("digitclust.method.refinement", "refine"),
    "score": ("digitclust.method.metrics", "scores"),
}

__all__ = [  # the keys of _API, written out for type checkers and linters
    "load_dataset",
    "deskew",
    "build_autoencoder",
    "register_architecture",
    "fit_autoencoder",
    "encode",
    "embed",
    "cluster",
    "kmeans",
    "gmm",
    "register_clustering",
    "refine",
    "score",
]

if TYPE_CHECKING:
    from digitclust.api import load_dataset
    from digitclust.method.clustering import cluster, gmm, kmeans
    from digitclust.method.clustering import register as register_clustering
    from digitclust.method.embedding import umap_embed as embed
    from digitclust.method.encoders import build_autoencoder
    from digitclust.method.encoders import register as register_architecture
    from digitclust.method.inference import encode
    from digitclust.method.metrics import scores as score
    from digitclust.method.refinement import refine
    from digitclust.method.training import fit_autoencoder
    from digitclust.method.transforms import deskew


def __getattr__(name):
    """Import the module of the API function ``name`` on first use and return the function."""
    if name not in _API:
        raise AttributeError(f"module 'digitclust' has no attribute {name!r}; the API is: {', '.join(__all__)}")
    module, attribute = _API[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__():
    return sorted({*globals(), *__all__})
