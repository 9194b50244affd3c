"""Pictures of the results: sorted confusion heatmaps, cluster sizes, images and maps, as PNG.

Images are (H, W) grey or (H, W, 3) colour in [0, 1], of any size.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from digitclust.method.metrics import majority_class  # noqa: E402
from digitclust.pipeline.storage import atomic_path  # noqa: E402


def _show(axis, image):
    """Draw one image, grey (H, W) or colour (H, W, 3), in [0, 1]."""
    if image.ndim == 2:
        axis.imshow(image, cmap="gray", vmin=0, vmax=1)
    else:
        axis.imshow(np.clip(image, 0, 1))


def _save(figure, path):
    with atomic_path(path, suffix=".png") as tmp:
        figure.savefig(tmp, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)


def confusion_heatmap(table, title, path):
    """Draw ``table`` (n_clusters, n_classes) with clusters as rows ordered by majority class."""
    majority = majority_class(table)
    order = np.lexsort((-table.max(axis=1), majority))
    sorted_table = table[order]
    figure, axes = plt.subplots(figsize=(7, 0.45 * len(order) + 1.5))
    axes.imshow(sorted_table, cmap="Blues")
    for (row, col), count in np.ndenumerate(sorted_table):
        color = "white" if count > sorted_table.max() / 2 else "black"
        axes.text(col, row, str(count), ha="center", va="center", fontsize=7, color=color)
    axes.set_xticks(range(table.shape[1]))
    axes.set_yticks(range(len(order)), [f"cluster {c} → {majority[c]}" for c in order])
    axes.set_xlabel("true digit")
    axes.set_ylabel("cluster (majority digit)")
    axes.set_title(title)
    _save(figure, path)


def reconstructions(originals, reconstructed, path, title="originals (top) and reconstructions (bottom)"):
    """Show ``originals`` (n, H, W[, 3]) above their ``reconstructed`` images (n, H, W[, 3])."""
    n = len(originals)
    figure, axes = plt.subplots(2, n, figsize=(n * 0.9, 2.2))
    for column in range(n):
        for row, images in enumerate((originals, reconstructed)):
            _show(axes[row, column], images[column])
            axes[row, column].axis("off")
    figure.suptitle(title)
    _save(figure, path)


def image_grid(rows, path, title, row_labels, column_labels=None):
    """Draw ``rows``, a list of image stacks (n_i, H, W[, 3]), one stack per labelled row.

    A row may also be a list of images in which None leaves its cell blank.
    """
    n_columns = max(1, max(len(row) for row in rows))
    figure, axes = plt.subplots(
        len(rows), n_columns, figsize=(n_columns * 0.8 + 1.2, len(rows) * 0.8 + 0.6), squeeze=False
    )
    for r, (row, label) in enumerate(zip(rows, row_labels, strict=False)):
        for c in range(n_columns):
            axis = axes[r, c]
            axis.set_xticks([])
            axis.set_yticks([])
            axis.set_frame_on(False)
            if c < len(row) and row[c] is not None:
                _show(axis, row[c])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    for c, label in enumerate(column_labels or []):
        axes[0, c].set_title(label, fontsize=8)
    figure.suptitle(title)
    _save(figure, path)


def _colours(n):
    """A qualitative colour map for ``n`` classes or clusters, and its value range."""
    return {"cmap": "tab10" if n <= 10 else "tab20", "vmin": -0.5, "vmax": n - 0.5}


def code_map(embedding, cluster_digits, true_digits, path, title, n_classes):
    """Scatter a 2-D ``embedding`` (N, 2) twice, in one colour per class (of ``n_classes``): by cluster and by truth.

    ``cluster_digits`` (N,) is the majority digit of each point's cluster, ``true_digits``
    (N,) its own. A point whose cluster's digit is not its own is ringed in black in both
    panels, so the disagreements stand out at the same place.
    """
    wrong = cluster_digits != true_digits
    panels = {"by cluster, in the colour of its majority digit": cluster_digits, "by true digit": true_digits}
    figure, axes = plt.subplots(1, 2, figsize=(12, 5.5))
    for axis, (panel, digits) in zip(axes, panels.items(), strict=False):
        points = axis.scatter(embedding[:, 0], embedding[:, 1], c=digits, s=1.5, **_colours(n_classes))
        axis.scatter(
            embedding[wrong, 0],
            embedding[wrong, 1],
            c=digits[wrong],
            **_colours(n_classes),
            s=14,
            edgecolors="black",
            linewidths=0.6,
        )
        axis.scatter(
            [], [], s=14, facecolors="white", edgecolors="black", label=f"{wrong.sum()} in a cluster of another digit"
        )
        axis.set_title(panel)
        axis.set_xticks([])
        axis.set_yticks([])
        axis.legend(loc="lower left", fontsize=8)
        figure.colorbar(points, ax=axis, ticks=range(n_classes), shrink=0.8)
    figure.suptitle(title)
    _save(figure, path)


def cluster_map(embedding, clusters, path, title):
    """Scatter a 2-D ``embedding`` (N, 2) in one colour per cluster of ``clusters`` (N,): the map without labels."""
    n = int(clusters.max()) + 1
    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    points = axis.scatter(embedding[:, 0], embedding[:, 1], c=clusters, s=1.5, **_colours(n))
    axis.set_title("by cluster")
    axis.set_xticks([])
    axis.set_yticks([])
    figure.colorbar(points, ax=axis, ticks=range(n), shrink=0.8)
    figure.suptitle(title)
    _save(figure, path)


def size_bars(sizes, title, path):
    """Bar chart of ``sizes`` (n_clusters,): the members of each cluster."""
    figure, axes = plt.subplots(figsize=(0.45 * len(sizes) + 2, 3.5))
    bars = axes.bar(np.arange(len(sizes)), sizes)
    axes.bar_label(bars, fontsize=7)
    axes.set_xticks(range(len(sizes)))
    axes.set_xlabel("cluster")
    axes.set_ylabel("images")
    axes.set_title(title)
    _save(figure, path)


def score_bars(scores, score, path):
    """Bar chart of ``score`` for each method (groups) and split (bars) of ``scores[method][split]``."""
    methods = list(scores)
    splits = list(scores[methods[0]])
    width = 0.8 / len(splits)
    figure, axes = plt.subplots(figsize=(1.8 * len(methods) + 2, 3.5))
    for i, split in enumerate(splits):
        values = [scores[method][split][score] for method in methods]
        bars = axes.bar(np.arange(len(methods)) + i * width, values, width, label=split)
        axes.bar_label(bars, fmt="%.3f", fontsize=8)
    axes.set_xticks(np.arange(len(methods)) + width * (len(splits) - 1) / 2, methods)
    lowest = min(scores[method][split][score] for method in methods for split in splits)
    axes.set_ylim(min(0, lowest * 1.08), 1.08)  # the silhouette runs from -1
    axes.set_ylabel(score)
    axes.set_title(f"{score} per method and split")
    axes.legend(loc="upper left")
    _save(figure, path)
