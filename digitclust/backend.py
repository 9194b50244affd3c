"""Keras, imported quietly, and the backend's threads, determinism and seeds.

Every module that uses Keras imports it from here, so TensorFlow's start-up
lines never reach the user.
"""

from digitclust.quiet import native_logs_discarded

with native_logs_discarded():
    import keras  # noqa: E402  (imported for the modules that import it from here)


def configure(deterministic_ops=False):
    """On TensorFlow, run ops one at a time and, with ``deterministic_ops``, deterministically.

    Call it before the first op. One op at a time, each on all cores, is faster than
    TensorFlow's default of several at once fighting for a few cores. Keras compiles
    with XLA only when op determinism is off; an XLA-compiled step on a CPU is
    deterministic by itself.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if deterministic_ops:
            tf.config.experimental.enable_op_determinism()
        tf.config.threading.set_inter_op_parallelism_threads(1)


def set_seed(seed, xla):
    """Seed Python, NumPy and the Keras backend; configure it, with op determinism unless ``xla``."""
    with native_logs_discarded():  # it seeds TensorFlow too, importing it on any backend
        keras.utils.set_random_seed(seed)
    configure(deterministic_ops=not xla)
