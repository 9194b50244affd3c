"""What native code writes to descriptor 2 stays out of a stage's terminal; Python's stderr does not."""

import subprocess
import sys

from helpers import ROOT

SCRIPT = """
import logging, os, sys
from digitclust.pipeline import quiet
logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
quiet.native_logs_discarded_from_now_on()
os.write(2, b"E0000 a line of TensorFlow's C++ layer\\n")
logging.getLogger("digitclust").info("a line of the stage's log")
print("error: a stage's one-line error", file=sys.stderr)
"""


def test_native_lines_are_discarded_for_the_rest_of_the_process_while_python_stderr_shows():
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stderr.splitlines() == ["digitclust: a line of the stage's log", "error: a stage's one-line error"]
