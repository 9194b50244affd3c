"""The networks at odd image shapes and in colour, colour deskewing, and scoring without labels."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_digits

from digitclust.pipeline import storage
from helpers import run_stage, stage_folder


def test_evaluate_without_labels_writes_label_free_scores_and_every_declared_output(tmp_path):
    stage_folder(tmp_path)
    rng = np.random.default_rng(0)
    storage.save_npz(
        tmp_path / "dataset.npz", x_train=np.zeros((40, 8, 8), np.uint8), x_test=np.zeros((20, 8, 8), np.uint8)
    )
    storage.save_npz(
        tmp_path / "embedding.npz", train=rng.random((40, 2), np.float32), test=rng.random((20, 2), np.float32)
    )
    storage.save_npz(tmp_path / "m.npz", train=np.arange(40) % 3, test=np.arange(20) % 4)
    result = run_stage(tmp_path, "evaluate", "dataset.npz", "embedding.npz", "m.npz", "m.json", "m.csv", "m.png")
    assert result.returncode == 0, result.stderr
    scores = json.loads((tmp_path / "m.json").read_text())
    assert list(scores) == ["silhouette", "largest_cluster", "smallest_cluster"]
    assert -1 <= scores["silhouette"]["test"] <= 1 and scores["largest_cluster"]["test"] == 5 / 20
    assert (tmp_path / "m.csv").read_text().splitlines()[:2] == ["actual,predicted", "none,0"]
    assert (tmp_path / "m.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("architecture", ["dense", "conv"])
@pytest.mark.parametrize("image_shape", [(8, 8), (30, 20), (13, 27, 3), (28, 28, 3)])
def test_both_architectures_reconstruct_images_of_the_data_shape(architecture, image_shape):
    from digitclust.method import encoders

    autoencoder, encoder = encoders.build_autoencoder(architecture, code_size=3, image_shape=image_shape)
    images = np.random.default_rng(0).random((2, *image_shape), np.float32)
    assert autoencoder.predict(images, verbose=0).shape == (2, *image_shape)
    assert encoder.predict(images, verbose=0).shape == (2, 3)


def test_mnist_networks_keep_their_layers():
    from digitclust.method import encoders, refinement

    conv, _ = encoders.build_autoencoder("conv", code_size=32, image_shape=(28, 28))
    names = [layer.name for layer in encoders.encoder_of(conv).layers]
    assert names == ["image", "channel", "conv", "pool", "flatten", "encode_0", "encode_1", "code"]
    cnn = refinement.build_classifier(10, image_shape=(28, 28), rotation=0.05, translation=0.1, zoom=0.1, seed=0)
    assert cnn.get_layer("flatten").output.shape[1:] == (5 * 5 * 64,)  # 'valid' convolutions, as always


@pytest.mark.parametrize("image_shape", [(8, 8), (8, 11, 3), (28, 28)])
def test_the_cnn_classifies_images_from_8x8_up(image_shape):
    from digitclust.method import refinement

    cnn = refinement.build_classifier(4, image_shape=image_shape, rotation=0.05, translation=0.1, zoom=0.1, seed=0)
    images = np.random.default_rng(0).random((3, *image_shape), np.float32)
    assert refinement.relabel(cnn, images, batch_size=2).shape == (3,)


def test_colour_is_deskewed_by_its_luminance_every_channel_alike():
    from digitclust.method import transforms

    grey = load_digits().images[:5].astype(np.float32) / 16
    colour = grey[..., None] * np.float32([1, 1, 1])
    straight = transforms.deskew(colour)
    assert straight.shape == colour.shape
    np.testing.assert_allclose(straight[..., 0], transforms.deskew(grey), atol=1e-5)
    np.testing.assert_array_equal(straight[..., 0], straight[..., 2])


def test_a_dataset_without_labels_reads_as_none_and_the_classes_come_from_the_data(tmp_path):
    from digitclust.pipeline import datafiles

    images = np.zeros((4, 30, 20, 3), np.uint8)
    storage.save_npz(tmp_path / "bare.npz", x_train=images, x_test=images)
    loaded, labels = datafiles.load_images(tmp_path / "bare.npz", "test")
    assert loaded.shape == (4, 30, 20, 3) and labels is None and datafiles.load_labels(tmp_path / "bare.npz") is None
    storage.save_npz(
        tmp_path / "l.npz", x_train=images, x_test=images, y_train=np.uint8([0, 1, 2, 0]), y_test=np.uint8([3, 0, 0, 0])
    )
    assert datafiles.count_classes(tmp_path / "l.npz", datafiles.load_labels(tmp_path / "l.npz")) == 4
