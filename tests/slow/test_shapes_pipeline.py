"""Every stage after fetch, run as dvc.yaml runs it, on images of other sizes, in colour and without labels."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from conftest import bars
from digitclust.pipeline import storage
from helpers import run_stage, stage_folder

METHODS = ("refined", "autoencoder_kmeans", "baseline")
REPORT = ("reconstructions", "purity", "map", "centres_baseline", "centres_autoencoder", "typical")
SMALL = {
    "kmeans.k": 4,
    "kmeans.n_init": 1,
    "autoencoder.code_size": 4,
    "autoencoder.epochs": 1,
    "autoencoder.batch_size": 64,
    "cluster.manifold": "none",
    "cluster.umap.n_neighbors": 10,
    "refine.epochs": 1,
    "refine.batch_size": 64,
    "report.typical_images": 2,
}
STAGES = [
    ("preprocess", "dataset.npz", "inputs.npz"),
    ("baseline", "dataset.npz", "assignments/baseline.npz"),
    ("train", "inputs.npz", "encoder.keras", "decoder.keras", "live", "checkpoints"),
    ("encode", "inputs.npz", "encoder.keras", "codes.npz"),
    ("cluster", "codes.npz", "assignments/autoencoder_kmeans.npz", "embedding.npz"),
    ("refine", "inputs.npz", "assignments/autoencoder_kmeans.npz", "assignments/refined.npz"),
    *(
        (
            "evaluate",
            "dataset.npz",
            "embedding.npz",
            f"assignments/{m}.npz",
            f"metrics/{m}.json",
            f"{m}.csv",
            f"{m}.png",
        )
        for m in METHODS
    ),
    (
        "report",
        *("dataset.npz", "inputs.npz", "codes.npz", "assignments/baseline.npz", "assignments/autoencoder_kmeans.npz"),
        *("encoder.keras", "decoder.keras", "metrics", "report"),
    ),
]


def tinted_digits(n_train=150, n_test=60):
    """sklearn's real 8 x 8 digits as uint8 colour images (N, 8, 8, 3), each tinted at random; no labels."""
    rng = np.random.default_rng(0)
    grey = load_digits().images[: n_train + n_test] / 16
    colour = grey[..., None] * rng.uniform(0.3, 1, (len(grey), 1, 1, 3))
    images = np.round(255 * colour).astype(np.uint8)
    return {"x_train": images[:n_train], "x_test": images[n_train:]}


def odd_bars(n_train=150, n_test=60):
    """Bars (tests' conftest) on 30 x 20 grey uint8 images, labelled by their kind (2 classes)."""
    rng = np.random.default_rng(1)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images, kinds = bars(n, rng)
        arrays[f"x_{split}"] = np.round(255 * np.pad(images, ((0, 0), (1, 1), (0, 0)))[:, :, 4:24]).astype(np.uint8)
        arrays[f"y_{split}"] = kinds.astype(np.uint8)
    return arrays


@pytest.mark.parametrize(
    "dataset, changes",
    [
        pytest.param(tinted_digits, {}, id="8x8-colour-unlabelled-dense"),
        pytest.param(odd_bars, {"autoencoder.architecture": "conv"}, id="30x20-grey-labelled-conv"),
    ],
)
def test_every_stage_runs_and_writes_every_declared_output(tmp_path, dataset, changes):
    stage_folder(tmp_path, {**SMALL, **changes})
    arrays = dataset()
    storage.save_npz(tmp_path / "dataset.npz", **arrays)
    for name, *args in STAGES:
        result = run_stage(tmp_path, name, *args)
        assert result.returncode == 0, f"{name}: {result.stderr}"
    shape = arrays["x_train"].shape
    inputs = storage.load_npz(tmp_path / "inputs.npz")
    assert inputs["x_train"].shape == shape and inputs["x_train"].dtype == np.float32
    embedding = storage.load_npz(tmp_path / "embedding.npz")
    assert embedding["train"].shape == (shape[0], SMALL["autoencoder.code_size"])
    for method in METHODS:
        metrics = (tmp_path / f"metrics/{method}.json").read_text()
        expected = "purity" if "y_train" in arrays else "silhouette"
        assert metrics.startswith(f'{{\n  "{expected}": {{\n    "train": '), metrics
        assert (tmp_path / f"{method}.csv").read_text().startswith("actual,predicted\n")
        assert (tmp_path / f"{method}.png").stat().st_size > 0
    assert all((tmp_path / f"report/{name}.png").stat().st_size > 0 for name in REPORT)
