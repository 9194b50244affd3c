"""Keras for a stage: its backend chosen and imported quietly, its threads, determinism and seeds.

A stage calls ``use_backend`` before it imports anything of ``digitclust.method`` that uses
Keras, so TensorFlow's start-up lines never reach the user.
"""

import os

from digitclust.pipeline.quiet import native_logs_discarded, native_logs_discarded_from_now_on


def use_backend(name):
    """Make Keras run on ``name`` (tensorflow, jax or torch) and import it; native lines are discarded from then on.

    Only for a stage's process: Python's ``sys.stderr`` keeps reaching the terminal, what the
    backend's C++ code writes to descriptor 2 does not (``quiet.native_logs_discarded_from_now_on``).
    """
    os.environ["KERAS_BACKEND"] = name
    with native_logs_discarded():
        import keras  # noqa: F401  (imported here, quietly, for every module that imports it later)
    native_logs_discarded_from_now_on()


def configure(deterministic_ops=False):
    """On TensorFlow, run ops one at a time and, with ``deterministic_ops``, deterministically.

    Call it before the first op. One op at a time, each on all cores, is faster than
    TensorFlow's default of several at once fighting for a few cores. Keras compiles
    with XLA only when op determinism is off; an XLA-compiled step on a CPU is
    deterministic by itself.
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if deterministic_ops:
            tf.config.experimental.enable_op_determinism()
        tf.config.threading.set_inter_op_parallelism_threads(1)


def set_seed(seed, xla):
    """Seed Python, NumPy and the Keras backend; configure it, with op determinism unless ``xla``."""
    import keras

    with native_logs_discarded():  # it seeds TensorFlow too, importing it on any backend
        keras.utils.set_random_seed(seed)
    configure(deterministic_ops=not xla)
