"""Atomic, deterministic writing of stage outputs, and reading them back with one-line errors.

Every output is first written next to its final path under a temporary name and
renamed into place only when complete, so an interrupted or failed stage never
leaves a half-written file where DVC expects an output.
"""

import contextlib
import io
import json
import math
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from digitclust.errors import PipelineError, clipped

# What a damaged or foreign file can raise while it is unzipped and read.
READ_ERRORS = (OSError, EOFError, ValueError, KeyError, zlib.error, zipfile.BadZipFile, NotImplementedError)

# A fixed timestamp makes the zip container of an .npz byte-for-byte reproducible.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    ``suffix`` is kept at the end of the temporary name for writers that insist
    on an extension (Keras wants ``.keras``). On any exception, including
    KeyboardInterrupt, the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; outputs are ordinary files
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_npz(path, **arrays):
    """Write ``arrays`` to a compressed .npz whose bytes depend only on the arrays (and zlib's version).

    Deflate is lossless: the arrays read back are bit for bit those written.
    """
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def save_keras(model, path):
    """Save a Keras ``model`` to a .keras file whose bytes depend only on the model.

    Keras writes the save date into ``metadata.json`` and Python object ids
    (``shared_object_id``) into ``config.json``, and dates every zip entry. Here the
    date is dropped, the ids are renumbered in order of appearance and the entries
    get a fixed timestamp, so saving the same model twice gives the same bytes.
    """
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
        with zipfile.ZipFile(tmp) as archive:
            entries = [(info, archive.read(info)) for info in archive.infolist()]
        with zipfile.ZipFile(tmp, "w") as archive:
            for info, content in entries:
                if info.filename == "metadata.json":
                    content = _json_bytes({k: v for k, v in json.loads(content).items() if k != "date_saved"})
                elif info.filename == "config.json":
                    content = _json_bytes(_renumbered_object_ids(json.loads(content), {}))
                stable = zipfile.ZipInfo(info.filename, date_time=_ZIP_EPOCH)
                stable.compress_type, stable.external_attr = info.compress_type, 0o644 << 16
                archive.writestr(stable, content)


def _json_bytes(payload):
    return json.dumps(payload, sort_keys=True).encode()


def _renumbered_object_ids(node, numbers):
    """``node`` with every ``shared_object_id`` replaced by its order of first appearance."""
    if isinstance(node, list):
        return [_renumbered_object_ids(item, numbers) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: numbers.setdefault(value, len(numbers))
        if key == "shared_object_id"
        else _renumbered_object_ids(value, numbers)
        for key, value in node.items()
    }


def load_keras(path, *, role=None, inputs=None, outputs=None):
    """Load a model saved by ``save_keras``; given its ``role`` (``"encoder"``), check its input and output shapes.

    ``inputs`` and ``outputs`` are the shapes without the batch axis, ``None`` for any size:
    the encoder maps images (28, 28) to codes (None,), the decoder codes to images. A missing
    file raises FileNotFoundError; a damaged, foreign or other model a one-line PipelineError.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; `dvc repro` makes it")
    if not zipfile.is_zipfile(path):
        raise PipelineError(f"{path}: not a Keras model file (not a zip archive); `dvc repro --force` rebuilds it")
    import keras

    try:
        model = keras.models.load_model(path)
    except (*READ_ERRORS, TypeError, AttributeError) as error:
        reason = clipped(" ".join(str(error).split()), 200)
        raise PipelineError(f"{path}: not a model the train stage saved ({reason}); `dvc repro` rebuilds it") from None
    found = (_shape(model, "input_shape"), _shape(model, "output_shape"))
    if role is not None and not (_fits(found[0], inputs) and _fits(found[1], outputs)):
        raise PipelineError(
            f"{path}: not the {role}: it maps {found[0]} to {found[1]}, the {role} maps {inputs} to {outputs};"
            " `dvc repro --force` rebuilds it"
        )
    return model


def _shape(model, attribute):
    """The model's input or output shape without the batch axis; None if it has several."""
    shape = getattr(model, attribute, None)
    return tuple(shape[1:]) if isinstance(shape, tuple) and all(isinstance(d, int | None) for d in shape) else None


def _fits(found, expected):
    """Whether the shape ``found`` is ``expected``, where a None in ``expected`` admits any size."""
    return (
        found is not None
        and len(found) == len(expected)
        and all(e is None or f == e for f, e in zip(found, expected, strict=True))
    )


def check_npz_sizes(file, name, *, limit=None):
    """PipelineError unless each array of the .npz ``file`` (a path or binary file) fits the bytes its entry holds.

    Reads only the .npy headers, so a header that states a huge shape is refused before numpy allocates
    it; with ``limit``, also refuses an archive that inflates past ``limit`` bytes in all.
    """
    with zipfile.ZipFile(file) as archive:
        entries = archive.infolist()
        inflated = sum(info.file_size for info in entries)
        if limit is not None and inflated > limit:
            raise PipelineError(f"{name}: inflates to {inflated:,} bytes; expected at most {limit:,}")
        for info in entries:
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = (
                    np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(member)
            needed = math.prod(shape) * dtype.itemsize
            if needed > info.file_size:
                raise PipelineError(
                    f"{name}: {info.filename} states shape {clipped(str(shape))} of {dtype} ({needed:,} bytes)"
                    f" in an entry of {info.file_size:,} bytes"
                )


def read_error_reason(error):
    """What ``error`` (one of READ_ERRORS) says, on one line of at most 200 characters, without numpy's advice to
    unpickle: a file that would need pickle is never loaded."""
    reason = clipped(" ".join(str(error).split()).strip("'"), 200)
    return "it holds pickled objects, which are never loaded" if "allow_pickle" in reason else reason


def load_npz(path, names=None, optional=False):
    """Read the arrays ``names`` (all by default) of an .npz into a plain dict; with ``optional``, those it holds.

    A missing file raises FileNotFoundError; a damaged one (truncated, not a zip, a failed
    decompression or CRC, a header that lies, pickled objects), or one without an array asked
    for (unless ``optional``), raises a one-line PipelineError naming the file. Nothing is ever unpickled.
    """
    try:
        check_npz_sizes(path, path)
        with np.load(path, allow_pickle=False) as archive:
            wanted = names or archive.files
            return {name: archive[name] for name in wanted if not optional or name in archive.files}
    except FileNotFoundError:
        raise
    except PipelineError as error:
        raise PipelineError(f"{error}; `dvc repro --force` rebuilds it") from None
    except READ_ERRORS as error:
        reason = read_error_reason(error)
        raise PipelineError(
            f"{path}: damaged, or not written by this pipeline ({reason}); `dvc repro --force` rebuilds it"
        ) from None


def write_json(path, payload, sort_keys=True):
    """Write ``payload`` as indented JSON, its keys sorted unless ``sort_keys`` is false (then in their order)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=sort_keys) + "\n")


def write_text(path, text):
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
