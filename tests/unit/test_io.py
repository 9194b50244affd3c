import io
import zipfile

import numpy as np
import pytest

from conftest import tiny_models
from digitclust.errors import PipelineError
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


# Damaged stage inputs and the wrong model: one line naming the file (issue 28)


def deflate_damaged(raw):
    """``raw`` (an .npz) with bytes in the middle of its first compressed entry flipped, so inflating fails."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        info = archive.infolist()[0]
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    middle = start + info.compress_size // 2
    return raw[:middle] + bytes(b ^ 0xFF for b in raw[middle : middle + 8]) + raw[middle + 8 :]


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda raw: raw[: len(raw) // 2], "damaged, or not written by this pipeline (File is not a zip file)"),
        (lambda raw: b"\x93NUMPY garbage" * 50, "damaged, or not written by this pipeline (File is not a zip file)"),
        (lambda raw: b"garbage" * 50, "damaged, or not written by this pipeline (File is not a zip file)"),
        (deflate_damaged, "damaged, or not written by this pipeline ("),
    ],
)
def test_a_damaged_npz_is_one_line_that_says_how_to_rebuild_it(tmp_path, damage, problem):
    path = tmp_path / "codes.npz"
    storage.save_npz(path, train=np.random.default_rng(0).random((500, 8)), test=np.zeros(3))
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(PipelineError) as caught:
        storage.load_npz(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {problem}") and message.endswith("; `dvc repro --force` rebuilds it"), message
    assert "\n" not in message and "allow_pickle" not in message, message


def test_an_npz_of_pickled_objects_is_never_unpickled(tmp_path):
    path = tmp_path / "codes.npz"
    np.savez(path, train=np.array([{}], dtype=object))
    with pytest.raises(PipelineError, match=r"\(it holds pickled objects, which are never loaded\); `dvc repro"):
        storage.load_npz(path)


def test_an_npy_header_that_states_a_huge_shape_is_refused_before_numpy_allocates_it(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2**50,)})
    path = tmp_path / "codes.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("train.npy", header.getvalue() + bytes(64))
    with pytest.raises(PipelineError, match=r"train.npy states shape \(1125899906842624,\) of float64"):
        storage.load_npz(path)


def test_the_wrong_model_or_a_garbage_one_is_named_for_what_it_is(tmp_path):
    encoder, decoder = tiny_models()
    storage.save_keras(decoder, tmp_path / "encoder.keras")
    with pytest.raises(PipelineError) as caught:
        storage.load_keras(tmp_path / "encoder.keras", role="encoder", inputs=(28, 28), outputs=(None,))
    assert str(caught.value) == (
        f"{tmp_path / 'encoder.keras'}: not the encoder: it maps (2,) to (28, 28), the encoder maps (28, 28) to"
        " (None,); `dvc repro --force` rebuilds it"
    )
    (tmp_path / "garbage.keras").write_bytes(b"garbage")
    with pytest.raises(PipelineError, match="garbage.keras: not a Keras model file .not a zip archive.; `dvc repro"):
        storage.load_keras(tmp_path / "garbage.keras", role="encoder", inputs=(28, 28), outputs=(None,))
    storage.save_npz(tmp_path / "npz.keras", train=np.zeros(3))
    with pytest.raises(PipelineError, match="npz.keras: not a model the train stage saved") as caught:
        storage.load_keras(tmp_path / "npz.keras", role="encoder", inputs=(28, 28), outputs=(None,))
    assert "File not found" not in str(caught.value)
    storage.save_keras(encoder, tmp_path / "right.keras")
    assert storage.load_keras(tmp_path / "right.keras", role="encoder", inputs=(28, 28), outputs=(None,))
