import numpy as np
import pytest

from conftest import idx_bytes, write_idx_dir
from digitclust import data


def test_parse_idx_reads_shape_and_values():
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(data.parse_idx(idx_bytes(array)), array)


@pytest.mark.parametrize(
    "mangle, problem",
    [
        (lambda raw: b"\x00\x00\x0d" + raw[3:], "not an unsigned-byte IDX file"),
        (lambda raw: b"\x08\x03" + raw[2:], "not an unsigned-byte IDX file"),
        (lambda raw: raw[:2], "not an unsigned-byte IDX file"),
        (lambda raw: raw[:9], "header truncated"),
        (lambda raw: raw[:-1], "header (2, 3, 4) needs"),
        (lambda raw: raw + b"\x00", "header (2, 3, 4) needs"),
    ],
)
def test_parse_idx_rejects_a_malformed_file(mangle, problem):
    raw = idx_bytes(np.zeros((2, 3, 4)))
    with pytest.raises(data.SourceError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        data.parse_idx(mangle(raw), "broken.idx")


def test_idx_dir_reads_plain_and_gzipped_files(tmp_path, tiny_dataset):
    folder = write_idx_dir(tmp_path / "idx", tiny_dataset, gzipped={"train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    arrays = data.fetch("mnist", [{"kind": "idx_dir", "path": str(folder)}], timeout=1)
    for key, expected in tiny_dataset.items():
        np.testing.assert_array_equal(arrays[key], expected)


def test_idx_dir_names_a_missing_file(tmp_path, tiny_dataset):
    folder = write_idx_dir(tmp_path / "idx", tiny_dataset)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(data.SourceError, match=r"t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte.gz\): missing"):
        data.from_idx_dir(str(folder), "mnist", timeout=1)


def test_checksum_mismatch_falls_through_to_the_next_source(tmp_path, tiny_dataset, caplog):
    corrupt = write_idx_dir(tmp_path / "corrupt", tiny_dataset)
    raw = bytearray((corrupt / "train-images-idx3-ubyte").read_bytes())
    raw[-1] ^= 0xFF
    (corrupt / "train-images-idx3-ubyte").write_bytes(bytes(raw))
    good = write_idx_dir(tmp_path / "good", tiny_dataset)
    sources = [{"kind": "idx_dir", "path": str(corrupt)}, {"kind": "idx_dir", "path": str(good)}]
    arrays = data.fetch("mnist", sources, timeout=1)
    np.testing.assert_array_equal(arrays["x_train"], tiny_dataset["x_train"])
    assert "train-images-idx3-ubyte: SHA-256" in caplog.text


def test_fetch_lists_every_failed_source(tmp_path, tiny_dataset):
    sources = [
        {"kind": "npz_url", "url": "http://127.0.0.1:9/mnist.npz"},
        {"kind": "idx_dir", "path": str(tmp_path / "nowhere")},
    ]
    with pytest.raises(data.FetchError) as caught:
        data.fetch("mnist", sources, timeout=1)
    message = str(caught.value)
    assert message.startswith("no source delivered mnist: ")
    assert "npz_url http://127.0.0.1:9/mnist.npz: " in message and "download failed" in message
    assert f"idx_dir {tmp_path / 'nowhere'}: no such folder" in message


def test_labels_out_of_range_are_rejected(tmp_path, monkeypatch, tiny_dataset):
    tiny_dataset["y_train"][3] = 10
    folder = write_idx_dir(tmp_path / "idx", tiny_dataset)
    checksums = {name: data.sha256((folder / name).read_bytes()) for name in data.IDX_FILES.values()}
    monkeypatch.setitem(data.SHA256, "mnist", checksums)
    with pytest.raises(data.SourceError, match="train-labels-idx1-ubyte: label 10 outside 0..9"):
        data.from_idx_dir(str(folder), "mnist", timeout=1)


def test_head_keeps_the_first_samples(tiny_dataset):
    small = data.head(tiny_dataset, train_size=5, test_size=2)
    assert small["x_train"].shape == (5, 28, 28) and small["y_test"].shape == (2,)
    np.testing.assert_array_equal(small["y_train"], tiny_dataset["y_train"][:5])


def test_load_images_scales_to_unit_interval(tmp_path, tiny_dataset):
    np.savez(tmp_path / "d.npz", **tiny_dataset)
    images, labels = data.load_images(tmp_path / "d.npz", "test")
    assert images.dtype == np.float32 and images.shape == (4, 28, 28)
    np.testing.assert_allclose(images, tiny_dataset["x_test"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(labels, tiny_dataset["y_test"])


def slanted_bar(shear, shift):
    """A (28, 28) image of a thick vertical bar sheared by ``shear`` columns per row and moved ``shift`` columns."""
    image = np.zeros((28, 28), dtype=np.float32)
    for row in range(6, 22):
        centre = 14 + shift + shear * (row - 14)
        image[row, int(round(centre)) - 1 : int(round(centre)) + 2] = 1.0
    return image


def centre_of_mass(image):
    rows, cols = np.mgrid[:28, :28]
    return (image * rows).sum() / image.sum(), (image * cols).sum() / image.sum()


def test_deskew_straightens_and_centres_a_slanted_stroke():
    slanted = slanted_bar(shear=0.4, shift=3)
    straight = data.deskew(slanted[None])[0]
    rows, cols = np.nonzero(straight > 0.5)
    assert abs(np.polyfit(rows, cols, 1)[0]) < 0.05  # the stroke is vertical
    np.testing.assert_allclose(centre_of_mass(straight), (14, 14), atol=0.3)
    assert abs(straight.sum() - slanted.sum()) / slanted.sum() < 0.05  # ink is resampled, not lost


def test_deskew_matches_scipy_affine_resampling_inside_the_image(tiny_dataset):
    from scipy import ndimage

    images = tiny_dataset["x_train"].astype(np.float32) / 255
    ours = data.deskew(images)
    for image, result in zip(images, ours):
        rows, cols = np.mgrid[:28, :28]
        mass = image.sum()
        mean = np.array([(rows * image).sum(), (cols * image).sum()]) / mass
        shear = ((rows - mean[0]) * (cols - mean[1]) * image).sum() / ((rows - mean[0]) ** 2 * image).sum()
        matrix = np.array([[1, 0], [shear, 1]])
        expected = ndimage.affine_transform(image, matrix, offset=mean - matrix @ [14, 14], order=1)
        np.testing.assert_allclose(result[1:-1, 1:-1], expected[1:-1, 1:-1], atol=1e-5)


def test_deskew_leaves_a_blank_image_blank_and_keeps_shapes():
    blank = np.zeros((3, 28, 28), dtype=np.float32)
    result = data.deskew(blank)
    assert result.shape == (3, 28, 28) and result.dtype == np.float32 and not result.any()


def write_damaged(folder, arrays, name, damage, monkeypatch):
    """Write ``arrays`` as IDX files with file ``name`` passed through ``damage``, registering its checksum."""
    write_idx_dir(folder, arrays)
    path = folder / name
    path.write_bytes(damage(path.read_bytes()))
    checksums = {**data.SHA256["mnist"], name: data.sha256(path.read_bytes())}
    monkeypatch.setitem(data.SHA256, "mnist", checksums)
    return folder


@pytest.mark.parametrize(
    "name, damage, problem",
    [
        ("train-images-idx3-ubyte", lambda raw: raw[:1000], "train-images-idx3-ubyte: 1000 bytes but header"),
        ("t10k-labels-idx1-ubyte", lambda raw: b"\x00\x00\x08\x02" + raw[4:], "t10k-labels-idx1-ubyte: 12 bytes"),
        ("train-labels-idx1-ubyte", lambda raw: b"\x00\x00\x0c" + raw[3:], "train-labels-idx1-ubyte: not an unsigned"),
        ("train-labels-idx1-ubyte", lambda raw: raw[:4] + (11).to_bytes(4, "big") + raw[8:-1],
         "train-images-idx3-ubyte has 12 images but train-labels-idx1-ubyte 11 labels"),
    ],
)
def test_a_damaged_file_is_named_and_the_next_source_is_tried(tmp_path, monkeypatch, tiny_dataset, name, damage, problem,
                                                              caplog):
    good_checksums = dict(data.SHA256["mnist"])
    damaged = write_damaged(tmp_path / "damaged", tiny_dataset, name, damage, monkeypatch)
    with pytest.raises(data.SourceError, match=problem):
        data.from_idx_dir(str(damaged), "mnist", timeout=1)
    monkeypatch.setitem(data.SHA256, "mnist", good_checksums)
    good = write_idx_dir(tmp_path / "good", tiny_dataset)
    sources = [{"kind": "idx_dir", "path": str(damaged)}, {"kind": "idx_dir", "path": str(good)}]
    arrays = data.fetch("mnist", sources, timeout=1)
    np.testing.assert_array_equal(arrays["y_train"], tiny_dataset["y_train"])
    assert f"source idx_dir {damaged} failed: {name}" in caplog.text


def test_a_broken_gzip_file_is_named(tmp_path, tiny_dataset):
    folder = write_idx_dir(tmp_path / "idx", tiny_dataset, gzipped={"t10k-images-idx3-ubyte"})
    gz = folder / "t10k-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-20])
    with pytest.raises(data.SourceError, match="t10k-images-idx3-ubyte.gz: broken gzip data"):
        data.from_idx_dir(str(folder), "mnist", timeout=1)
