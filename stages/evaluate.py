"""Score one method's assignments on both splits; write its metrics, confusion file and heatmap.

The method is named after its assignments file (``data/assignments/<method>.npz``); dvc.yaml
runs this stage once for each scored method.
"""

from pathlib import Path

import pandas as pd

from digitclust import errors
from digitclust.datasets import loading
from digitclust.method import metrics
from digitclust.pipeline import stage, storage
from digitclust.report import plots

SPLITS = ("train", "test")
PLOTTED_SPLIT = "test"


def checked_labels(path):
    """The labels (N,) of both splits of the fetched .npz ``path``, integers from 0 to 9 (the contingency's columns)."""
    labels = loading.load_labels(path)
    for split in SPLITS:
        values = labels[split]
        if values.dtype.kind not in "iu" or (values.size and not 0 <= values.min() <= values.max() <= 9):
            raise errors.PipelineError(
                f"{path}: {split} labels that are not integers from 0 to 9; `dvc repro --force` rebuilds it"
            )
    return labels


def checked_assignments(path, labels):
    """The cluster ids of both splits from ``path``, one for each of ``labels[split]`` (N,), each from 0 to N - 1.

    Checked before any score: the contingency table is as large as the highest id, so an id is
    bounded by the number of samples (no clustering has more clusters than points).
    """
    assignments = storage.load_npz(path, SPLITS)
    for split in SPLITS:
        ids, n = assignments[split], len(labels[split])
        if ids.dtype.kind not in "iu" or ids.shape != (n,):
            found = f"{ids.dtype} values of shape {ids.shape}"
        elif n and (ids.min() < 0 or ids.max() >= n):
            found = f"ids from {ids.min()} to {ids.max()}"
        else:
            continue
        raise errors.PipelineError(
            f"{path}: {split} holds {found}; expected {n} integer cluster ids from 0 to {n - 1}, one for each"
            f" {split} label; `dvc repro` rebuilds it"
        )
    return assignments


def main(params, args):
    method = Path(args.assignments).stem
    labels = checked_labels(args.dataset)
    assignments = checked_assignments(args.assignments, labels)
    by_split = {split: metrics.scores(labels[split], assignments[split]) for split in SPLITS}
    results = {score: {split: by_split[split][score] for split in SPLITS} for score in by_split[SPLITS[0]]}
    stage.log.info("%s: %s", method, results)

    actual, clusters = labels[PLOTTED_SPLIT], assignments[PLOTTED_SPLIT]
    table = metrics.contingency(actual, clusters)
    predicted = metrics.majority_class(table)[clusters]
    frame = pd.DataFrame({"actual": actual, "predicted": predicted})
    storage.write_text(args.confusion, frame.to_csv(index=False))
    plots.confusion_heatmap(table, f"{method}: clusters vs digits ({PLOTTED_SPLIT} split)", Path(args.heatmap))
    # Score first, then split, in the order of metrics.scores: `dvc exp show` leads with the train and test purity.
    storage.write_json(args.metrics, results, sort_keys=False)
    stage.log.info("wrote %s, %s and %s", args.metrics, args.confusion, args.heatmap)


if __name__ == "__main__":
    stage.run(main, __doc__, "dataset", "assignments", "metrics", "confusion", "heatmap")
