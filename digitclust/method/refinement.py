"""Refining clusters with a classifier: a small CNN learns the train split's cluster ids from augmented
images, then relabels every image of both splits with the cluster it predicts.

The classifier sees only images and cluster ids, never labels. Trained on randomly
rotated, shifted and zoomed copies, it generalises past the clusters' boundaries,
which were drawn in a space that such small changes move.
"""

import math
from typing import Any

import numpy as np

from digitclust.method import transforms

# The CNN's widths: F filters, then 2F, then a dense hidden layer (the memory check reads them too).
FILTERS = 32
HIDDEN = 128
DROPOUT = 0.3
# The smallest side for unpadded ('valid') 3x3 convolutions; smaller images keep their size through them.
VALID_SIDE = 16


def conv_padding(image_shape: tuple[int, ...]) -> str:
    """The convolutions' padding: 'valid' (each 3x3 conv trims a pixel all round) from VALID_SIDE up, else 'same'.

    Two convolutions and two poolings by 2 leave 5 x 5 of MNIST's 28 x 28, nothing of 8 x 8 unpadded.
    """
    return "valid" if min(image_shape[:2]) >= VALID_SIDE else "same"


def build_classifier(
    n_clusters: int, *, image_shape: tuple[int, ...], rotation: float, translation: float, zoom: float, seed: int
) -> Any:
    """A CNN from images (N, *image_shape) to the probabilities (N, n_clusters) of each cluster.

    ``image_shape`` is (H, W) grey or (H, W, 3) colour. ``rotation``, ``translation`` and ``zoom``
    are the factors of the augmentation layers in front of it (``transforms.augmentation``, active in
    training only), seeded from ``seed``.
    """
    import keras

    layers = keras.layers
    images = keras.Input(image_shape, name="image")
    x = images
    if len(image_shape) == 2:
        x = layers.Reshape((*image_shape, 1), name="channel")(x)
    x = transforms.augmentation(rotation=rotation, translation=translation, zoom=zoom, seed=seed)(x)
    for i, filters in enumerate((FILTERS, 2 * FILTERS)):
        x = layers.Conv2D(filters, 3, padding=conv_padding(image_shape), activation="relu", name=f"conv_{i}")(x)
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
    classifier.compile(
        optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy", jit_compile=False
    )
    return classifier


def relabel(classifier: Any, images: np.ndarray, *, batch_size: int) -> np.ndarray:
    """The cluster (N,) int32 that ``classifier`` finds most likely for each of ``images`` (N, *image_shape)."""
    return classifier.predict(images, batch_size=batch_size, verbose=0).argmax(axis=1).astype("int32")


def fit_classifier(
    images: np.ndarray,
    clusters: np.ndarray,
    *,
    n_clusters: int = 10,
    epochs: int = 7,
    batch_size: int = 256,
    learning_rate: float = 0.002,
    rotation: float = 0.05,
    translation: float = 0.1,
    zoom: float = 0.1,
    seed: int = 0,
) -> Any:
    """Build, compile and train the CNN on ``images`` (N, H, W[, 3]) to predict their ``clusters`` (N,).

    The cluster ids run from 0 to n_clusters - 1.

    ``epochs`` of ``batch_size`` with Adam from ``learning_rate`` down to 0 (``compile_classifier``),
    each image augmented by ``rotation``, ``translation`` and ``zoom`` (``build_classifier``).
    Seeds nothing itself: ``refine`` does; the refine stage seeds Keras first. Raises
    TrainingDiverged if the loss stops being finite. Returns the trained classifier.
    """
    from digitclust.method import training

    clusters = np.asarray(clusters)
    if clusters.shape != (len(images),) or (len(clusters) and (clusters.min() < 0 or clusters.max() >= n_clusters)):
        raise ValueError(
            f"clusters of shape {clusters.shape} from {clusters.min(initial=0)} to"
            f" {clusters.max(initial=0)}: expected ({len(images)},) ids from 0 to {n_clusters - 1}"
        )
    classifier = build_classifier(
        n_clusters, image_shape=images.shape[1:], rotation=rotation, translation=translation, zoom=zoom, seed=seed
    )
    steps = epochs * math.ceil(len(images) / batch_size)
    compile_classifier(classifier, learning_rate=learning_rate, total_steps=steps)
    training.train(classifier, images, epochs=epochs, batch_size=batch_size, seed=seed, targets=clusters)
    return classifier


def refine(
    train_images: np.ndarray,
    train_clusters: np.ndarray,
    test_images: np.ndarray,
    *,
    n_clusters: int = 10,
    epochs: int = 7,
    batch_size: int = 256,
    learning_rate: float = 0.002,
    rotation: float = 0.05,
    translation: float = 0.1,
    zoom: float = 0.1,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Relabel both splits with a CNN trained on the train split's clusters; return ids (N,) and (M,), int32.

    ``train_images`` (N, H, W[, 3]) and ``test_images`` (M, H, W[, 3]) are in [0, 1];
    ``train_clusters`` (N,) from 0 to n_clusters - 1. Seeds Python, NumPy and Keras with
    ``seed`` (``keras.utils.set_random_seed``) before building the CNN (``fit_classifier``).
    On TensorFlow, reruns are byte-identical only with op determinism on
    (``tf.config.experimental.enable_op_determinism()``), as the refine stage sets.
    """
    import keras

    keras.utils.set_random_seed(seed)
    classifier = fit_classifier(
        train_images,
        train_clusters,
        n_clusters=n_clusters,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        rotation=rotation,
        translation=translation,
        zoom=zoom,
        seed=seed,
    )
    return (
        relabel(classifier, train_images, batch_size=batch_size),
        relabel(classifier, test_images, batch_size=batch_size),
    )
