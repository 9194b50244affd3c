import zipfile

import numpy as np
import pytest

from digitclust.pipeline import storage


def test_save_npz_writes_the_same_bytes_every_time(tmp_path):
    arrays = {"b": np.arange(6, dtype=np.uint8).reshape(2, 3), "a": np.array([1.5, 2.5], dtype=np.float32)}
    storage.save_npz(tmp_path / "one.npz", **arrays)
    storage.save_npz(tmp_path / "two.npz", **arrays)
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    loaded = storage.load_npz(tmp_path / "one.npz")
    assert set(loaded) == {"a", "b"}
    np.testing.assert_array_equal(loaded["b"], arrays["b"])


def test_save_npz_compresses_without_loss(tmp_path):
    images = np.zeros((1000, 28, 28), dtype=np.float32)
    images[:, 10:18, 12:16] = np.random.default_rng(0).random((1000, 8, 4), dtype=np.float32)
    storage.save_npz(tmp_path / "images.npz", x=images)
    with zipfile.ZipFile(tmp_path / "images.npz") as archive:
        assert [info.compress_type for info in archive.infolist()] == [zipfile.ZIP_DEFLATED]
    assert (tmp_path / "images.npz").stat().st_size < images.nbytes / 4
    assert storage.load_npz(tmp_path / "images.npz")["x"].tobytes() == images.tobytes()


def test_atomic_path_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out" / "result.json"
    with pytest.raises(KeyboardInterrupt), storage.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert list(target.parent.iterdir()) == []


def test_atomic_path_replaces_the_target_on_success(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old")
    storage.write_json(target, {"purity": 0.5})
    assert target.read_text() == '{\n  "purity": 0.5\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_a_full_disk_leaves_no_temporary_file(tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", no_space)
    with pytest.raises(OSError, match="No space left on device"):
        storage.save_npz(tmp_path / "codes.npz", train=np.zeros(3))
    assert list(tmp_path.iterdir()) == []


def test_save_keras_writes_the_same_bytes_every_time(tmp_path):
    import time

    from digitclust.method import encoders

    autoencoder, _ = encoders.build_autoencoder("dense", code_size=3, image_shape=(28, 28))
    storage.save_keras(autoencoder, tmp_path / "one.keras")
    time.sleep(2.1)  # Keras dates its files to the second, zip entries to two seconds
    storage.save_keras(autoencoder, tmp_path / "two.keras")
    assert (tmp_path / "one.keras").read_bytes() == (tmp_path / "two.keras").read_bytes()
    loaded = storage.load_keras(tmp_path / "one.keras")
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), autoencoder.get_weights(), strict=False))
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in autoencoder.layers]
