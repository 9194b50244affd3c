"""What every part of the driver shares: its one-line error, and how long a remote may take to answer."""

from digitclust.errors import PipelineError

REMOTE_TIMEOUT_S = 60


class SweepError(PipelineError):
    """Bad input, or a remote, host or scheduler out of reach: reported as one line."""


def first_line(error):
    """The first non-blank line of ``error``'s text, or its type's name."""
    return next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
