"""Slow: the Python API page run as written, and the extension points (an encoder, a clustering method) through DVC."""

import json
import re
import subprocess
import sys

import numpy as np
import yaml

from conftest import TINY
from digitclust.method import metrics
from digitclust.pipeline import storage
from helpers import ROOT, copy_project, dvc, environment, run

PURITY_LINE = re.compile(r"^(?P<step>.+): purity train (?P<train>[\d.]+), test (?P<test>[\d.]+) \(\d+ s\)$")


def python_blocks(page):
    """The ```python code blocks of the Markdown file ``page``."""
    return re.findall(r"^```python\n(.*?)^```$", page.read_text(), re.S | re.M)


def test_the_python_api_page_runs_as_written(tmp_path):
    (code,) = python_blocks(ROOT / "docs/python-api.md")
    (tmp_path / "example.py").write_text(code)
    result = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env={**environment(), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    purities = {}
    for line in result.stdout.splitlines():
        match = PURITY_LINE.match(line)
        assert match, line
        purities[match["step"]] = (float(match["train"]), float(match["test"]))
    assert len(purities) == 5
    baseline = purities["K-Means on pixels"]
    assert min(baseline) > 0.4 and max(baseline) < 0.7  # real digits, the raw pixels' usual purity
    assert min(purities["autoencoder + UMAP + K-Means"]) > max(baseline) + 0.2
    assert min(purities["refined by a CNN"]) > 0.85


# An architecture added through the one place, encoders.register, as docs/extending.md shows.
SHALLOW = '''

def shallow_layers(code_size, image_shape):
    """pixels-64-d, mirrored."""
    import keras

    image = keras.Input(image_shape, name="image")
    x = keras.layers.Flatten(name="flatten")(image)
    x = keras.layers.Dense(64, activation="relu", name="shallow_hidden")(x)
    code = keras.layers.Dense(code_size, name="code")(x)
    code_input = keras.Input((code_size,), name="code_input")
    y = keras.layers.Dense(64, activation="relu", name="shallow_unhidden")(code_input)
    y = keras.layers.Dense(pixels(image_shape), activation="sigmoid", name="pixels")(y)
    return image, code, code_input, keras.layers.Reshape(image_shape, name="reconstruction")(y)


def shallow_size(code_size, image_shape):
    widths = (pixels(image_shape), 64, code_size, 64, pixels(image_shape))
    return _dense_weights(widths), sum(widths)


register("shallow", layers=shallow_layers, size=shallow_size, description="784-64-d, for the tests")
'''


def test_an_encoder_registered_in_encoders_py_alone_runs_through_the_pipeline(tmp_path):
    project = copy_project(tmp_path, {**TINY, "autoencoder.architecture": "shallow", "autoencoder.code_size": 7})
    with (project / "digitclust/method/encoders.py").open("a") as module:
        module.write(SHALLOW)
    dvc("repro", "train", "encode", "cluster", cwd=project)
    code = (
        "import keras; m = keras.saving.load_model('models/encoder.keras'); print([layer.name for layer in m.layers])"
    )
    layers = run([sys.executable, "-c", code], cwd=project).stdout.strip()
    assert layers == "['image', 'flatten', 'shallow_hidden', 'code']"
    codes = storage.load_npz(project / "data/codes.npz")
    assert codes["train"].shape == (2000, 7) and codes["test"].shape == (500, 7)
    assert storage.load_npz(project / "data/assignments/autoencoder_kmeans.npz")["train"].shape == (2000,)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["autoencoder"]["architecture"] = "vae"
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    refused = dvc("repro", "train", cwd=project, check=False)
    assert refused.returncode != 0
    assert (
        "error: params.yaml: autoencoder.architecture = 'vae': expected one of dense, conv, shallow"
        in refused.stderr + refused.stdout
    )


def test_a_gaussian_mixture_clusters_the_embedding_through_dvc(tmp_path):
    project = copy_project(tmp_path, TINY)
    dvc(
        "exp",
        "run",
        "evaluate@autoencoder_gmm",
        "-S",
        "cluster.method=gmm",
        "-S",
        "cluster.gmm.covariance_type=diag",
        cwd=project,
    )
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["cluster"]["method"] == "gmm"
    locked = yaml.safe_load((project / "dvc.lock").read_text())["stages"]["cluster"]["params"]["params.yaml"]
    assert locked["cluster"]["method"] == "gmm" and locked["cluster"]["gmm"]["covariance_type"] == "diag"
    with np.load(project / "data/dataset.npz") as dataset:
        labels = {"train": dataset["y_train"], "test": dataset["y_test"]}
    assigned = storage.load_npz(project / "data/assignments/autoencoder_gmm.npz")
    for split in ("train", "test"):
        assert len(set(assigned[split].tolist())) == 10
        assert metrics.scores(labels[split], assigned[split])["purity"] > 0.7  # raw pixels give about 0.55
    shown = json.loads(dvc("metrics", "show", "--json", cwd=project).stdout)[""]["data"]
    assert "metrics/autoencoder_gmm.json" in shown and "metrics/autoencoder_kmeans.json" not in shown  # its own row
