"""The errors a user can act on: a stage reports each as one line, without a traceback."""


class PipelineError(Exception):
    """A problem with the data, the params or a run that the message explains."""


class TrainingDiverged(PipelineError):
    """A training's loss became infinite or NaN; the message names the loss and the epoch."""


def clipped(text, limit=80):
    """``text`` cut to ``limit`` characters with an ellipsis: an error line never prints an unbounded value."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
