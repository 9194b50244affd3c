"""Pictures of the results: sorted confusion heatmaps and reconstructions, as PNG."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from digitclust.io import atomic_path  # noqa: E402
from digitclust.metrics import majority_class  # noqa: E402


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
    """Show ``originals`` (n, 28, 28) above their ``reconstructed`` images (n, 28, 28)."""
    n = len(originals)
    figure, axes = plt.subplots(2, n, figsize=(n * 0.9, 2.2))
    for column in range(n):
        for row, images in enumerate((originals, reconstructed)):
            axes[row, column].imshow(images[column], cmap="gray", vmin=0, vmax=1)
            axes[row, column].axis("off")
    figure.suptitle(title)
    _save(figure, path)
