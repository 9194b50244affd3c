"""Mean and spread of the scores over seeds, for the default params and an ablation of its pieces.

For every seed, runs the pipeline's stages after fetch (the report is left out) in
a scratch DVC project, first with the default params and then with each variant of
the ablation, every stage through `dvc repro --single-item`: DVC skips the stages
whose params and inputs a variant leaves as they were and restores from its run
cache those it has run before, so the variants of a seed share their autoencoders.
Prints one row per method and split: mean and sample standard deviation of purity,
ACC, NMI and ARI.

    python benchmarks/seeds.py                             # seeds 0-4, every variant
    python benchmarks/seeds.py --seeds 0 1 --variants no_umap
    python benchmarks/seeds.py --seeds 0 --variants no_deskew -S data.dataset=fashion_mnist

Takes the dataset from data/dataset.npz when `dvc repro fetch` (or `dvc pull`) made it;
without it, or for another `data.dataset`, it is fetched in each scratch project.
"""

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import yaml

from pipeline import (
    ROOT,
    OneLineParser,
    add_set_option,
    checked_changes,
    prepared_copy,
    read_scores,
    run_stage,
    write_changes,
)

# Each variant undoes some pieces of the default's clusters, to show what each adds; the default's
# refinement is scored as its own method, so the variants skip it.
NO_REFINE = {"refine.enabled": False}
VARIANTS = {
    "no_umap": {"cluster.manifold": "none", **NO_REFINE},
    "no_deskew": {"autoencoder.deskew": False, **NO_REFINE},
    "ae_kmeans": {"autoencoder.deskew": False, "cluster.manifold": "none", **NO_REFINE},
}
SCORES = ("purity", "accuracy", "nmi", "ari")
SPLITS = ("train", "test")


def scored_stages():
    """Names of dvc.yaml's stages from the one after fetch to evaluate, in order (the report left out)."""
    return [
        name for name in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"] if name not in ("fetch", "report")
    ]


def run_methods(folder, stage_names, variants):
    """Run the stages ``stage_names`` in ``folder`` with its params, then with each variant.

    Returns ``{method: {split: {score: value}}}`` for baseline, the default's clusters ("default"),
    their refinement ("refined") and each variant's clusters.
    """
    default_params = (folder / "params.yaml").read_text()
    results = {}
    for method in ["default", *variants]:
        (folder / "params.yaml").write_text(default_params)
        write_changes(folder, VARIANTS.get(method, {}))
        for name in stage_names:
            run_stage(f"{method}-{name}", f"dvc repro --single-item {name}", folder)
        scores = read_scores(folder)
        results.setdefault("baseline", scores["baseline"])
        results[method] = scores["autoencoder_kmeans"]  # every variant clusters with K-Means
        if method == "default":
            results["refined"] = scores["refined"]
    return results


def run_seed(seed, variants, stage_names, changes):
    """Scores of one seed (as ``run_methods`` gives them), with the params ``changes`` made for every method."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        prepared_copy(folder, {**changes, "seed": str(seed)})
        return run_methods(folder, stage_names, variants)


def summary_table(per_seed):
    """Rows ``(method, split, {score: (mean, std)})`` over the seeds."""
    rows = []
    for method in per_seed[0]:
        for split in SPLITS:
            values = {s: np.array([run[method][split][s] for run in per_seed]) for s in SCORES}
            rows.append(
                (method, split, {s: (v.mean(), v.std(ddof=1) if len(v) > 1 else 0.0) for s, v in values.items()})
            )
    return rows


def main():
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--variants", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    add_set_option(parser)
    args = parser.parse_args()
    stage_names = scored_stages()
    if "seed" in dict(args.set):
        parser.error("-S seed: the seeds are given by --seeds")
    for seed in args.seeds:
        checked_changes({**dict(args.set), "seed": str(seed)})  # every seed's params, before the first run
    per_seed = []
    for seed in args.seeds:
        per_seed.append(run_seed(seed, args.variants, stage_names, dict(args.set)))
        clusters, refined = per_seed[-1]["default"], per_seed[-1]["refined"]
        print(
            f"seed {seed}: purity train / test: default's clusters {clusters['train']['purity']:.4f} /"
            f" {clusters['test']['purity']:.4f}"
            f", refined {refined['train']['purity']:.4f} / {refined['test']['purity']:.4f}",
            flush=True,
        )
    print(
        f"\nseeds {' '.join(map(str, args.seeds))}; params changed: {dict(args.set) or 'none'}"
        f"; mean ± sample standard deviation"
    )
    print("| method | split | " + " | ".join(SCORES) + " |")
    print("|---|---|" + "---|" * len(SCORES))
    for method, split, stats in summary_table(per_seed):
        cells = " | ".join(f"{mean:.4f} ± {std:.4f}" for mean, std in stats.values())
        print(f"| {method} | {split} | {cells} |")
    print(json.dumps(per_seed))


if __name__ == "__main__":
    main()
