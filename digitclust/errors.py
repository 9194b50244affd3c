"""The base of every error a user can act on: a stage reports it as one line, without a traceback."""


class PipelineError(Exception):
    """A problem with the data, the params or a run that the message explains."""
