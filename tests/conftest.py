"""Shared fixtures: tiny IDX datasets and their checksums, the tiny repository run once, its publisher clone and an sshd on loopback."""

import gzip
import struct

import numpy as np
import pytest

from digitclust.datasets import idx
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
    """``{file name: SHA-256}`` of the four IDX files of ``arrays`` (and of the real mnist.npz), as params declare them."""
    return {idx.NPZ_FILE: MNIST_NPZ_SHA256, **{name: idx.sha256(idx_bytes(arrays[key])) for key, name in idx.IDX_FILES.items()}}


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
