"""What every stage script shares: logging, arguments, params and one-line errors.

A stage script imports its heavy libraries (Keras, UMAP) inside its ``main``, so that
``run`` has validated the params before any of them is loaded.
"""

import argparse
import contextlib
import logging
import signal
import stat
import sys
from pathlib import Path

from digitclust import errors
from digitclust.pipeline import params

log = logging.getLogger("digitclust")

# Errors a user can act on: reported as one line, without a traceback.
EXPECTED_ERRORS = (errors.PipelineError, OSError)
# The suffixes of the files a stage reads or writes; every other path it is given is a folder.
FILE_SUFFIXES = (".npz", ".keras", ".json")


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other error of a stage."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message}\n")


@contextlib.contextmanager
def advice_on_divergence(rate_key):
    """Inside the block, a diverging training's error also says to lower the params key ``rate_key``."""
    try:
        yield
    except errors.TrainingDiverged as error:
        raise errors.TrainingDiverged(f"{error}; lower {rate_key} in params.yaml") from None


def _interrupt(signum, frame):
    """Turn SIGTERM into KeyboardInterrupt, so temporary files are cleaned up as on Ctrl-C."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def declared_params(name, dvc_file="dvc.yaml"):
    """The params keys (``autoencoder.batch_size``, or a whole section) that stage ``name`` declares."""
    try:
        stages = params.parse(Path(dvc_file).read_bytes(), dvc_file)["stages"]  # read as DVC reads it, bounded
        entry = stages[name]
        return entry.get("do", entry).get("params", [])  # a foreach stage declares them in its `do`
    except params.ParamsError:
        raise
    except (OSError, KeyError, TypeError, AttributeError):
        raise errors.PipelineError(f"{dvc_file}: no stage {name!r}; run stages with `dvc repro`") from None


class UndeclaredParam(KeyError):
    """A stage read a params key that its ``params`` in dvc.yaml do not list."""

    def __str__(self):
        return self.args[0]


class DeclaredParams(dict):
    """A section of the params that raises ``UndeclaredParam`` for a key its stage did not declare."""

    def __init__(self, values, stage, prefix=""):
        super().__init__(values)
        self.stage, self.prefix = stage, prefix

    def __missing__(self, key):
        raise UndeclaredParam(
            f"stage {self.stage} reads {self.prefix}{key} from params.yaml, but its params in dvc.yaml do not list it"
        )


def restricted_params(values, keys, stage):
    """The part of ``values`` that the dotted ``keys`` name, as nested ``DeclaredParams`` of ``stage``."""
    view = {}
    for key in keys:
        *parents, leaf = key.split(".")
        source, target = values, view
        for parent in parents:
            source, target = source[parent], target.setdefault(parent, {})
        target[leaf] = source[leaf]
    return _declared(view, stage, "")


def _declared(tree, stage, prefix):
    sections = {
        key: _declared(value, stage, f"{prefix}{key}.") if isinstance(value, dict) else value
        for key, value in tree.items()
    }
    return DeclaredParams(sections, stage, prefix)


def check_paths(args):
    """Raise PipelineError if a path of ``args`` is a pipe, a device, a symlink loop or a folder where a file belongs.

    Checked before any work: reading a pipe would wait for a writer, maybe forever, and a folder
    in place of an output file would only be found once the output is written.
    """
    for name, value in vars(args).items():
        path = Path(value)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue  # an input that is missing is named when it is read; an output is written
        except OSError as error:  # a symlink loop, a path through a file
            raise errors.PipelineError(
                f"{path}: cannot be resolved ({error.strerror or error}); give a file or folder there"
            ) from None
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise errors.PipelineError(
                f"{path}: a pipe, socket or device, where the stage's {name} belongs; give a file or folder there"
            )
        if stat.S_ISDIR(mode) and path.suffix in FILE_SUFFIXES:
            raise errors.PipelineError(
                f"{path}: a folder, where the stage's {name} file belongs; move it away, then run the stage again"
            )


def run(main, description, *paths):
    """Parse ``paths`` from the command line, load params and call ``main(params, args)``.

    ``main`` sees only the params its stage declares in dvc.yaml (the stage is named
    after the script's file, ``stages/<name>.py``); reading any other key raises ``UndeclaredParam``.
    Exits 1 with ``error: <message>`` on an expected error and 130 on Ctrl-C;
    outputs are written atomically, so neither leaves a partial file behind.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    log.setLevel(logging.INFO)  # this package's progress; the libraries' own notices only from warnings up
    parser = OneLineParser(description=description)
    for path in paths:
        parser.add_argument(path)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    name = Path(sys.argv[0]).stem
    try:
        declared = restricted_params(params.load(), declared_params(name), name)
        check_paths(args)
        main(declared, args)
    except EXPECTED_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("error: interrupted; the stage left no partial output, `dvc repro` runs it again", file=sys.stderr)
        sys.exit(130)
