"""Keep third-party start-up lines and printouts out of the user's terminal, or pass them to the log."""

import contextlib
import importlib
import io
import logging
import os
import re
import sys
import tempfile

_DATE = re.compile(r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} ")  # time.ctime(), as UMAP prints it


@contextlib.contextmanager
def native_logs_discarded():
    """Discard what native code writes to file descriptor 2 inside the block (an import).

    TensorFlow's C++ layer writes lines such as oneDNN's notice and, on CPUs it was
    not built for, its CPU-feature notice straight to the descriptor when it is
    imported, before ``TF_CPP_MIN_LOG_LEVEL`` applies. That level is set to errors
    only for the rest of the run. Python's own ``sys.stderr`` works again after the block.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def native_logs_discarded_from_now_on():
    """Discard what native code writes to file descriptor 2 for the rest of the process.

    TensorFlow's C++ layer may also write while it runs, not only when imported (a line about
    tf.data's graph rewrites during ``predict``, some runs and not others). Python's own
    ``sys.stderr`` (logging, warnings, tracebacks, a stage's error line) moves to a copy of the
    original descriptor, so all of it still reaches the terminal.
    """
    previous = sys.stderr
    previous.flush()
    sys.stderr = open(os.dup(2), "w", buffering=1, encoding=previous.encoding, errors=previous.errors)  # noqa: SIM115 (for the rest of the process)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is previous:
            handler.setStream(sys.stderr)
    sink = os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 2)
    os.close(sink)


class _LogWriter(io.TextIOBase):
    """A text stream that passes each printed line to ``log`` without the line's own date.

    Lines are gathered until their newline (``print`` writes its arguments one by one);
    a text written at the start of a line that starts with ``skip_prefix`` is left out whole.
    """

    def __init__(self, log, skip_prefix):
        self.log, self.skip_prefix, self.line = log, skip_prefix, ""

    def write(self, text):
        if not self.line and text.startswith(self.skip_prefix):
            return len(text)
        self.line += text
        while "\n" in self.line:
            line, self.line = self.line.split("\n", 1)
            if line.strip():
                self.log.info("%s", " ".join(_DATE.sub("", line).split()))
        return len(text)


def printed_to_log(log, skip_prefix):
    """Send what is printed inside the block to ``log``, line by line, except a print starting with ``skip_prefix``."""
    return contextlib.redirect_stdout(_LogWriter(log, skip_prefix))


def import_quietly(*modules):
    """Import ``modules`` (dotted names) discarding what native code prints meanwhile (umap imports TensorFlow)."""
    with native_logs_discarded():
        for name in modules:
            importlib.import_module(name)
