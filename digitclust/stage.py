"""What every stage script shares: logging, argument parsing and one-line errors."""

import argparse
import logging
import sys

from digitclust import data, params

log = logging.getLogger("digitclust")

# Errors a user can act on: reported as one line, without a traceback.
EXPECTED_ERRORS = (params.ParamsError, data.FetchError, data.SourceError, FileNotFoundError)


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
    try:
        main(params.load(), args)
    except EXPECTED_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("error: interrupted; no output was written, run `dvc repro` to start the stage again", file=sys.stderr)
        sys.exit(130)
