"""Score each method's assignments on both splits; write metrics, confusion files and heatmaps."""

from pathlib import Path

import pandas as pd

from digitclust.datasets import loading
from digitclust.method import metrics
from digitclust.pipeline import stage, storage
from digitclust.report import plots

METHODS = ("baseline", "autoencoder", "refined")
SPLITS = ("train", "test")
PLOTTED_SPLIT = "test"


def main(params, args):
    labels = loading.load_labels(args.dataset)
    results = {}
    for method in METHODS:
        assignments = storage.load_npz(Path(args.assignments) / f"{method}.npz")
        results[method] = {split: metrics.scores(labels[split], assignments[split]) for split in SPLITS}
        stage.log.info("%s: %s", method, results[method])

        actual, clusters = labels[PLOTTED_SPLIT], assignments[PLOTTED_SPLIT]
        table = metrics.contingency(actual, clusters)
        predicted = metrics.majority_class(table)[clusters]
        frame = pd.DataFrame({"actual": actual, "predicted": predicted})
        storage.write_text(Path(args.plots) / f"{method}.csv", frame.to_csv(index=False))
        title = f"{method}: clusters vs digits ({PLOTTED_SPLIT} split)"
        plots.confusion_heatmap(table, title, Path(args.plots) / f"{method}.png")
    storage.write_json(args.metrics, results)
    stage.log.info("wrote %s and the confusion files in %s", args.metrics, args.plots)


if __name__ == "__main__":
    stage.run(main, __doc__, "dataset", "assignments", "metrics", "plots")
