"""Score one method's assignments on both splits; write its metrics, confusion file and heatmap.

The method is named after its assignments file (``data/assignments/<method>.npz``); dvc.yaml
runs this stage once for each scored method. Without labels in the dataset, the scores are
label-free (the silhouette on the cluster stage's embedding, the largest and smallest cluster's
share), the confusion file has one row ``none`` of the test images in each cluster, and the
heatmap's place holds a bar chart of the test clusters' sizes.
"""

from pathlib import Path

import pandas as pd

from digitclust import errors
from digitclust.method import metrics
from digitclust.pipeline import datafiles, stage, storage
from digitclust.report import plots

SPLITS = ("train", "test")
PLOTTED_SPLIT = "test"
SILHOUETTE_SAMPLE = 10_000  # points per split: the silhouette's cost grows with the square of them


def checked_labels(labels, n_classes, path):
    """``labels`` (N,) of both splits of the fetched .npz ``path``, integers from 0 to n_classes - 1 (the contingency's
    columns); None stays None."""
    if labels is None:
        return None
    total = sum(len(labels[split]) for split in SPLITS)
    if n_classes > total:
        raise errors.PipelineError(
            f"{path}: labels up to {n_classes - 1}, more classes than its {total} labels;"
            " `dvc repro --force` rebuilds it"
        )
    for split in SPLITS:
        values = labels[split]
        if values.dtype.kind not in "iu" or (values.size and not 0 <= values.min() <= values.max() < n_classes):
            raise errors.PipelineError(
                f"{path}: {split} labels that are not integers from 0 to {n_classes - 1};"
                " `dvc repro --force` rebuilds it"
            )
    return labels


def checked_assignments(path, sizes):
    """The cluster ids of both splits from ``path``, ``sizes[split]`` of them, each from 0 to that size - 1.

    Checked before any score: the contingency table is as large as the highest id, so an id is
    bounded by the number of samples (no clustering has more clusters than points).
    """
    assignments = storage.load_npz(path, SPLITS)
    for split in SPLITS:
        ids, n = assignments[split], sizes[split]
        if ids.dtype.kind not in "iu" or ids.shape != (n,):
            found = f"{ids.dtype} values of shape {ids.shape}"
        elif n and (ids.min() < 0 or ids.max() >= n):
            found = f"ids from {ids.min()} to {ids.max()}"
        else:
            continue
        raise errors.PipelineError(
            f"{path}: {split} holds {found}; expected {n} integer cluster ids from 0 to {n - 1}, one for each"
            f" {split} image; `dvc repro` rebuilds it"
        )
    return assignments


def labelled_scores(labels, n_classes, assignments, method, args):
    """Today's scores against ``labels``; the confusion file and heatmap of the test split."""
    by_split = {split: metrics.scores(labels[split], assignments[split]) for split in SPLITS}
    actual, clusters = labels[PLOTTED_SPLIT], assignments[PLOTTED_SPLIT]
    table = metrics.contingency(actual, clusters, n_classes=n_classes)
    predicted = metrics.majority_class(table)[clusters]
    frame = pd.DataFrame({"actual": actual, "predicted": predicted})
    storage.write_text(args.confusion, frame.to_csv(index=False))
    plots.confusion_heatmap(table, f"{method}: clusters vs digits ({PLOTTED_SPLIT} split)", Path(args.heatmap))
    return by_split


def label_free_scores(params, assignments, method, args):
    """Scores without labels on the embedding; the test clusters' sizes as the confusion file and a bar chart."""
    embedding = storage.load_npz(args.embedding)
    by_split = {
        split: metrics.label_free_scores(
            embedding[split], assignments[split], sample=SILHOUETTE_SAMPLE, seed=params["seed"]
        )
        for split in SPLITS
    }
    clusters = assignments[PLOTTED_SPLIT]
    frame = pd.DataFrame({"actual": "none", "predicted": clusters})
    storage.write_text(args.confusion, frame.to_csv(index=False))
    plots.size_bars(
        metrics.cluster_sizes(clusters), f"{method}: test images per cluster (no labels)", Path(args.heatmap)
    )
    return by_split


def main(params, args):
    method = Path(args.assignments).stem
    labels = datafiles.load_labels(args.dataset)
    n_classes = None if labels is None else datafiles.count_classes(args.dataset, labels)
    labels = checked_labels(labels, n_classes, args.dataset)
    assignments = checked_assignments(args.assignments, datafiles.split_sizes(args.dataset))
    if labels is None:
        by_split = label_free_scores(params, assignments, method, args)
    else:
        by_split = labelled_scores(labels, n_classes, assignments, method, args)
    results = {score: {split: by_split[split][score] for split in SPLITS} for score in by_split[SPLITS[0]]}
    stage.log.info("%s: %s", method, results)
    # Score first, then split, in the order of metrics.scores: `dvc exp show` leads with the train and test purity.
    storage.write_json(args.metrics, results, sort_keys=False)
    stage.log.info("wrote %s, %s and %s", args.metrics, args.confusion, args.heatmap)


if __name__ == "__main__":
    stage.run(main, __doc__, "dataset", "embedding", "assignments", "metrics", "confusion", "heatmap")
