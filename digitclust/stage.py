"""What every stage script shares: logging, argument parsing and one-line errors."""

import argparse
import logging
import signal
import sys

from digitclust import data, params

log = logging.getLogger("digitclust")

# Errors a user can act on: reported as one line, without a traceback.
EXPECTED_ERRORS = (params.ParamsError, data.FetchError, data.SourceError, OSError)


def _interrupt(signum, frame):
    """Turn SIGTERM into KeyboardInterrupt, so temporary files are cleaned up as on Ctrl-C."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def run(main, description, *paths):
    """Parse ``paths`` from the command line, load params and call ``main(params, args)``.

    Exits 1 with ``error: <message>`` on an expected error and 130 on Ctrl-C;
    outputs are written atomically, so neither leaves a partial file behind.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    parser = argparse.ArgumentParser(description=description)
    for path in paths:
        parser.add_argument(path)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        main(params.load(), args)
    except EXPECTED_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("error: interrupted; the stage left no partial output, `dvc repro` runs it again", file=sys.stderr)
        sys.exit(130)
