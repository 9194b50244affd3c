"""Time every stage of the default pipeline, and measure its peak memory, from a clean start.

Runs the stages of dvc.yaml in order, each with `dvc repro --single-item`, in a
scratch copy of the project that holds only the fetched dataset (an empty DVC
cache, no earlier outputs), and prints one row per stage: wall time (DVC's own
work of hashing and caching outputs included) and peak resident memory. Then the training
throughput against a float32 matrix product measured in the same run, the total,
the purity reached, and whether the metrics equal the committed ones.

    python benchmarks/pipeline.py                         # all 60,000 + 10,000 images
    python benchmarks/pipeline.py --train-sizes 10000 20000 40000 60000
    python benchmarks/pipeline.py -S autoencoder.epochs=5 # any params.yaml change
    python benchmarks/pipeline.py --against refine.enabled=false  # then again with these changes; the ratio

Takes the dataset from data/dataset.npz when `dvc repro fetch` (or `dvc pull`) made it;
without it, or for another `data.dataset`, the fetch stage runs in the scratch copy.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package is not installed: use this checkout's

import throughput  # noqa: E402
from digitclust.datasets import sources  # noqa: E402
from digitclust.pipeline import params, storage  # noqa: E402
from digitclust.pipeline.stage import OneLineParser  # noqa: E402

PROJECT_FILES = ("dvc.yaml", "params.yaml", "stages", "digitclust", "inputs")
TEST_SHARE = 6  # the test split keeps MNIST's 60,000 : 10,000 ratio
# Stage commands say `python`: make it this interpreter, with the packages it sees.
SAME_PYTHON = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}


def scored_methods(root=ROOT):
    """The scored methods of the run in ``root``: the names of its metrics/<method>.json, sorted."""
    return sorted(path.stem for path in (Path(root) / "metrics").glob("*.json"))


def read_scores(folder):
    """``{method: {split: {score: value}}}`` from metrics/<method>.json (score, then split) of each scored method."""
    scores = {
        method: json.loads((Path(folder) / "metrics" / f"{method}.json").read_text())
        for method in scored_methods(folder)
    }
    return {
        method: {split: {score: by_split[split] for score, by_split in values.items()} for split in ("train", "test")}
        for method, values in scores.items()
    }


def run_stage(name, command, cwd):
    """Run one stage command, its log going to ``cwd``/<name>.log; return (wall seconds, peak resident MiB)."""
    log = Path(cwd) / f"{name}.log"
    began = time.perf_counter()
    with open(log, "w") as log_file:
        process = subprocess.Popen(
            command, shell=True, cwd=cwd, env=SAME_PYTHON, stdout=log_file, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        lines = log.read_text().splitlines() or ["no output"]
        reason = next((line for line in reversed(lines) if line.startswith("error: ")), lines[-1])
        sys.exit(f"error: stage {name} failed: {reason.removeprefix('error: ')}")
    return seconds, usage.ru_maxrss / 1024


def write_changes(folder, changes):
    """Apply dotted-key ``changes`` (values, not text) to ``folder``/params.yaml; return the new params."""
    values = params.parse((folder / "params.yaml").read_bytes())  # YAML 1.2, as DVC and the stages read it
    for key, value in changes.items():
        params.set_value(values, key, value)
    (folder / "params.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    return values


def checked_changes(changes):
    """Dotted-key ``changes`` (text) as values; exits with one line naming the problem unless they give valid params."""
    try:  # YAML 1.2, as `dvc exp run -S` reads a value: 1e-3 is a number
        changes = {key: params.parse(value.encode(), f"-S {key}") for key, value in changes.items()}
    except params.ParamsError as error:
        sys.exit(f"error: {error}")
    values = params.load(ROOT / "params.yaml")
    for key, value in changes.items():
        try:
            params.set_value(values, key, value)
        except (KeyError, TypeError):
            sys.exit(f"error: -S {key}: no such key in params.yaml")
    try:
        params.validate(values)
    except params.ParamsError as error:
        sys.exit(f"error: -S: {error}")
    return changes


def prepared_copy(folder, changes, git=False):
    """Copy the project and its fetched dataset into ``folder``, with dotted-key params ``changes`` (text).

    ``folder`` becomes a DVC project with an empty cache, in a new git repository with ``git``
    (nothing committed yet), else without git. The fetched dataset is cut to
    ``data.train_size`` and ``data.test_size``, as the skipped fetch stage would; when
    ``changes`` name another ``data.dataset``, or nothing was fetched here, the fetch
    stage runs there instead.
    """
    changes = checked_changes(changes)
    if git:
        subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
        shutil.copy2(ROOT / ".gitignore", folder / ".gitignore")
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q", *([] if git else ["--no-scm"])], cwd=folder, check=True)
    for name in PROJECT_FILES:
        source = ROOT / name
        copy = shutil.copytree if source.is_dir() else shutil.copy2
        copy(source, folder / name)
    values = write_changes(folder, changes)
    (folder / "data").mkdir()
    fetched = ROOT / "data" / "dataset.npz"
    if values["data"]["dataset"] != params.load(ROOT / "params.yaml")["data"]["dataset"] or not fetched.is_file():
        print(f"fetching {values['data']['dataset']} in the scratch copy", flush=True)
        run_stage("fetch", "dvc repro --single-item fetch", folder)
        return
    with np.load(fetched) as npz:
        arrays = sources.head(dict(npz), params.split_size(values, "train"), params.split_size(values, "test"))
    storage.save_npz(folder / "data" / "dataset.npz", **arrays)


def benchmark(changes, logs=None):
    """Run every stage after fetch once; print and return per-stage figures and the scores.

    With ``logs``, each stage's log is kept there as ``<stage>.log``.
    """
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        prepared_copy(folder, changes)
        rows = {name: run_stage(name, f"dvc repro --single-item {name}", folder) for name in stages if name != "fetch"}
        scores = read_scores(folder)
        with np.load(folder / "data" / "dataset.npz") as npz:
            sizes = len(npz["y_train"]), len(npz["y_test"])
        models = folder / "models"
        throughput.report(
            models / "encoder.keras", models / "decoder.keras", (folder / "train.log").read_text(), *sizes
        )
        if logs:
            Path(logs).mkdir(parents=True, exist_ok=True)
            for name in rows:
                shutil.copy2(folder / f"{name}.log", Path(logs) / f"{name}.log")
    for name, (seconds, mebibytes) in rows.items():
        print(f"  {name:<10} {seconds:8.1f} s {mebibytes:8.0f} MiB peak")
    total = sum(seconds for seconds, _ in rows.values())
    print(f"  {'total':<10} {total:8.1f} s")
    for method, splits in scores.items():
        print(f"  purity of {method}: train {splits['train']['purity']:.4f}, test {splits['test']['purity']:.4f}")
    return total, scores


def params_change(text):
    """``key=value`` as the pair ``(key, value)``."""
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"-S {text!r}: expected key=value, e.g. autoencoder.epochs=5")
    return key, value


def add_set_option(parser):
    """Give ``parser`` the option ``-S key=value`` (repeatable); ``args.set`` becomes a dict of the changes."""
    parser.add_argument("-S", "--set", action="append", default=[], type=params_change, help="params change, key=value")


def main():
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-sizes", type=int, nargs="*", default=[0], help="train images (0 = all)")
    add_set_option(parser)
    parser.add_argument(
        "--against",
        nargs="+",
        type=params_change,
        metavar="KEY=VALUE",
        help="after each run, run again with these params changes too, and print the ratio of the totals",
    )
    parser.add_argument("--logs", help="folder to keep each stage's log in (one subfolder per train size)")
    args = parser.parse_args()
    changes = dict(args.set)
    runs = {
        size: {**changes, "data.train_size": str(size), "data.test_size": str(size // TEST_SHARE)} if size else changes
        for size in args.train_sizes
    }
    for sized in runs.values():
        checked_changes(sized)  # every run's params, before the first one starts
        checked_changes({**sized, **dict(args.against or [])})
    for size, sized in runs.items():
        print(f"train images: {size or 'all'}; params changed: {sized or 'none'}")
        total, scores = benchmark(sized, args.logs and Path(args.logs) / f"train_{size or 'all'}")
        if not sized:
            committed = read_scores(ROOT)
            print(f"  metrics equal to the committed metrics/<method>.json: {scores == committed}")
        if args.against:
            against = {**sized, **dict(args.against)}
            print(f"train images: {size or 'all'}; params changed: {against}")
            other_total, _ = benchmark(against, args.logs and Path(args.logs) / f"train_{size or 'all'}_against")
            print(f"  ratio of the totals: {total:.1f} s / {other_total:.1f} s = {total / other_total:.2f}")


if __name__ == "__main__":
    main()
