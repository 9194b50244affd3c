"""Refining clusters with a classifier: a small CNN learns the train split's cluster ids from augmented
images, then relabels every image of both splits with the cluster it predicts.

The classifier sees only images and cluster ids, never labels. Trained on randomly
rotated, shifted and zoomed copies, it generalises past the clusters' boundaries,
which were drawn in a space that such small changes move.
"""

from typing import Any

import numpy as np

from digitclust.method import transforms

IMAGE_SHAPE = (28, 28)
# The CNN's widths: F filters, then 2F, then a dense hidden layer (the memory check reads them too).
FILTERS = 32
HIDDEN = 128
DROPOUT = 0.3


def build_classifier(n_clusters: int, *, rotation: float, translation: float, zoom: float, seed: int) -> Any:
    """A CNN from images (N, 28, 28) to the probabilities (N, n_clusters) of each cluster.

    ``rotation``, ``translation`` and ``zoom`` are the factors of the augmentation layers
    in front of it (``transforms.augmentation``, active in training only), seeded from ``seed``.
    """
    import keras

    layers = keras.layers
    images = keras.Input(IMAGE_SHAPE, name="image")
    x = layers.Reshape((*IMAGE_SHAPE, 1), name="channel")(images)
    x = transforms.augmentation(rotation=rotation, translation=translation, zoom=zoom, seed=seed)(x)
    for i, filters in enumerate((FILTERS, 2 * FILTERS)):
        x = layers.Conv2D(filters, 3, activation="relu", name=f"conv_{i}")(x)
        x = layers.MaxPooling2D(name=f"pool_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(DROPOUT, seed=seed, name="dropout")(x)
    x = layers.Dense(HIDDEN, activation="relu", name="hidden")(x)
    probabilities = layers.Dense(n_clusters, activation="softmax", name="cluster")(x)
    return keras.Model(images, probabilities, name="classifier")


def compile_classifier(classifier: Any, *, learning_rate: float, total_steps: int) -> Any:
    """Adam from ``learning_rate`` down to 0 over ``total_steps`` batches (cosine), cross-entropy on cluster ids.

    Not compiled with XLA: Keras' random image layers do not support it on TensorFlow,
    so the caller turns on TensorFlow's op determinism instead for reproducible runs.
    """
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)
    classifier.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                       jit_compile=False)
    return classifier


def relabel(classifier: Any, images: np.ndarray, *, batch_size: int) -> np.ndarray:
    """The cluster (N,) int32 that ``classifier`` finds most likely for each of ``images`` (N, 28, 28)."""
    return classifier.predict(images, batch_size=batch_size, verbose=0).argmax(axis=1).astype("int32")
