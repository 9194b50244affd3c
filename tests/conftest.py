"""Shared fixtures: tiny IDX datasets and their checksums, the tiny repository run once, its publisher clone
and an sshd on loopback.

Also: the marker ``slow`` on every test in tests/slow, and test data (bar images) that tests in two folders use.
"""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from digitclust.datasets import idx
from digitclust.pipeline import storage
from helpers import commit, copy_project, dvc
from remote_helpers import SSHD, SSHServer, clone, fetch_from_origin

# Real MNIST, but few images and little training: the whole pipeline in about two minutes.
TINY = {
    "data.train_size": 2000,
    "data.test_size": 500,
    "kmeans.n_init": 2,
    "autoencoder.epochs": 20,  # about 0.6 s each: enough for the autoencoder method to beat the baseline
    "autoencoder.batch_size": 64,
    "cluster.umap.n_components": 5,
    "refine.epochs": 3,
    "refine.batch_size": 64,
}

# The tests in tests/slow are marked slow; `make test-fast` (pytest -m "not slow") leaves them out. These fixtures
# cost minutes (a whole `dvc repro`) or need Debian's openssh-server, so only those tests may use them.
SLOW = Path(__file__).parent / "slow"
SLOW_FIXTURES = {"tiny_repo", "publisher", "ssh_server"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW in item.path.parents:
            item.add_marker(pytest.mark.slow)
        elif needs := sorted(SLOW_FIXTURES.intersection(item.fixturenames)):
            raise pytest.UsageError(
                f"{item.nodeid} uses {', '.join(needs)}: move it to tests/slow/, or the fast tests "
                "(make test-fast) get slow"
            )


def idx_bytes(array):
    """Encode a uint8 array as an IDX file."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def tiny_arrays(n_train=12, n_test=4, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n_train, dtype=np.uint8) % 10,
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": np.arange(n_test, dtype=np.uint8) % 10,
    }


def write_idx_dir(folder, arrays, gzipped=()):
    """Write the four IDX files of ``arrays`` into ``folder``; names in ``gzipped`` get .gz."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in idx.IDX_FILES.items():
        raw = idx_bytes(arrays[key])
        if name in gzipped:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return folder


# The SHA-256 of Keras' real mnist.npz, as params.yaml declares it: for the tests of the npz_url source.
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def checksums_of(arrays):
    """``{file name: SHA-256}`` of the IDX files of ``arrays`` and of the real mnist.npz, as params declare them."""
    return {
        idx.NPZ_FILE: MNIST_NPZ_SHA256,
        **{name: idx.sha256(idx_bytes(arrays[key])) for key, name in idx.IDX_FILES.items()},
    }


def bars(n, rng):
    """``n`` images (N, 28, 28) of a vertical or a horizontal bar at a random place, and which (N,) each is."""
    kinds = rng.integers(0, 2, n)
    images = np.zeros((n, 28, 28), np.float32)
    for image, kind, place, start in zip(images, kinds, rng.integers(6, 22, n), rng.integers(2, 10, n), strict=True):
        if kind:
            image[place - 1 : place + 2, start : start + 16] = 1
        else:
            image[start : start + 16, place - 1 : place + 2] = 1
    return images, kinds


def write_bars(folder, flipped_share):
    """Bar images in ``folder``/inputs.npz; clusters.npz their kinds, ``flipped_share`` of the train ones wrong."""
    rng = np.random.default_rng(0)
    (train, train_kinds), (test, test_kinds) = bars(600, rng), bars(100, rng)
    clusters = train_kinds.copy()
    flipped = rng.random(len(clusters)) < flipped_share
    clusters[flipped] = 1 - clusters[flipped]
    storage.save_npz(folder / "inputs.npz", x_train=train, x_test=test)
    storage.save_npz(folder / "clusters.npz", train=clusters.astype(np.int32), test=test_kinds.astype(np.int32))
    return train_kinds, test_kinds, flipped


def tiny_models():
    """An encoder (28, 28) -> (2,) and a decoder (2,) -> (28, 28), untrained."""
    import keras

    encoder = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(2)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(784), keras.layers.Reshape((28, 28))])
    return encoder, decoder


@pytest.fixture
def tiny_dataset():
    """The arrays of a tiny dataset (their checksums: ``checksums_of``)."""
    return tiny_arrays()


@pytest.fixture
def tiny_checksums(tiny_dataset):
    """The checksums of ``tiny_dataset``'s IDX files."""
    return checksums_of(tiny_dataset)


@pytest.fixture(scope="session")
def tiny_repo(tmp_path_factory):
    """A git + DVC repository of the project with TINY params after one committed `dvc repro`.

    Shared by the whole session: tests must not change it (clone it with git instead).
    """
    project = tmp_path_factory.mktemp("tiny") / "project"
    project.mkdir()
    copy_project(project, TINY)
    dvc("repro", cwd=project)
    commit(project, "tiny run")
    return project


@pytest.fixture(scope="module")
def publisher(tiny_repo, tmp_path_factory):
    """A clone of ``tiny_repo`` whose cache holds the committed run's objects and run cache."""
    repo = clone(tiny_repo, tmp_path_factory.mktemp("publisher") / "repo")
    fetch_from_origin(repo, tiny_repo)
    return repo


@pytest.fixture(scope="module")
def ssh_server(tmp_path_factory):
    """A running sshd on a loopback port (scripts/test-deps installs openssh-server)."""
    if not SSHD.is_file():
        pytest.fail(f"{SSHD} is missing: install Debian's openssh-server (`make test` does, as root)")
    with SSHServer(tmp_path_factory.mktemp("sshd")) as server:
        yield server
