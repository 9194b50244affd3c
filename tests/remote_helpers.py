"""Clones of the tiny repository, DVC remotes (a folder, SSH on loopback) and checks of what they restore."""

import getpass
import hashlib
import os
import socket
import subprocess
import time
from pathlib import Path

import yaml

from helpers import dvc, run

# Every output DVC caches (and so pushes and pulls); metrics and plots are committed to git.
CACHED_OUTPUTS = (
    "data/dataset.npz",
    "data/inputs.npz",
    "data/assignments/baseline.npz",
    "data/assignments/autoencoder_kmeans.npz",
    "data/assignments/refined.npz",
    "data/codes.npz",
    "data/embedding.npz",
    "models/encoder.keras",
    "models/decoder.keras",
    "dvclive/metrics.json",
    "dvclive/params.yaml",
)
SSHD = Path("/usr/sbin/sshd")
LOOPBACK = "127.0.0.1"


def clone(origin, destination):
    """``git clone`` ``origin`` into ``destination``: the committed files only, an empty DVC cache."""
    run(["git", "clone", "-q", str(origin), str(destination)], cwd=origin)
    return destination


def add_remote(repo, name, url, default=False, **options):
    """Add a remote to ``repo``'s untracked .dvc/config.local; set ``options`` with `dvc remote modify`."""
    dvc("remote", "add", "--local", "--force", *(["-d"] if default else []), name, str(url), cwd=repo)
    for key, value in options.items():
        dvc("remote", "modify", "--local", name, key, str(value), cwd=repo)


def fetch_from_origin(repo, origin):
    """Fetch every object and run-cache record of ``origin``'s run into the clone ``repo``.

    A DVC 3 cache directory is laid out like a remote (``files/md5/..``, ``runs/..``), so the
    origin's cache serves as a read-only remote: DVC only reads from a remote it fetches from,
    which leaves the shared origin untouched.
    """
    add_remote(repo, "origin-cache", Path(origin) / ".dvc" / "cache")
    dvc("fetch", "-r", "origin-cache", "--run-cache", cwd=repo)


def push(repo, name, url, **options):
    """Add remote ``name`` at ``url`` to ``repo`` and push its outputs and run cache there."""
    add_remote(repo, name, url, **options)
    return dvc("push", "-r", name, "--run-cache", cwd=repo)


def lock_hashes(repo):
    """Map each file output in ``repo``'s dvc.lock (cached or committed to git) to its MD5.

    Folder outputs (their MD5 names a listing, ``....dir``) are left out.
    """
    lock = yaml.safe_load((Path(repo) / "dvc.lock").read_text())
    outs = [out for stage in lock["stages"].values() for out in stage.get("outs", [])]
    return {out["path"]: out["md5"] for out in outs if not out["md5"].endswith(".dir")}


def md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def object_path(storage, digest):
    """Where DVC 3 keeps the object with MD5 ``digest`` in a remote or cache folder ``storage``."""
    return Path(storage) / "files" / "md5" / digest[:2] / digest[2:]


def corrupt(storage, digest):
    """Replace an object in ``storage`` with garbage (a new file, so no hard link elsewhere changes)."""
    path = object_path(storage, digest)
    path.unlink()
    path.write_bytes(b"not the object you are looking for")


def workspace_files(repo):
    """Map every file of ``repo`` outside .git and .dvc to its MD5."""
    repo = Path(repo)
    return {
        path.relative_to(repo).as_posix(): md5(path)
        for path in repo.rglob("*")
        if path.is_file() and path.relative_to(repo).parts[0] not in (".git", ".dvc")
    }


def corrupt_cache_objects(repo):
    """The objects in ``repo``'s DVC cache whose contents do not match their name (a folder's listing ends in .dir)."""
    objects = Path(repo) / ".dvc" / "cache" / "files" / "md5"
    return sorted(
        str(path) for path in objects.glob("*/*") if (path.parent.name + path.name).removesuffix(".dir") != md5(path)
    )


def assert_fully_restored(repo, origin):
    """``repo`` holds every cached output of ``origin``'s run, and DVC sees nothing to do."""
    expected = lock_hashes(origin)
    assert set(CACHED_OUTPUTS) <= set(expected)
    actual = {path: md5(Path(repo) / path) for path in expected if (Path(repo) / path).is_file()}
    assert actual == expected
    assert "Data and pipelines are up to date" in dvc("status", cwd=repo).stdout
    assert "Running stage" not in dvc("repro", cwd=repo).stdout
    assert run(["git", "status", "--porcelain"], cwd=repo).stdout == ""


def free_port():
    """A loopback TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


class ClosedPort:
    """A loopback port bound but never listened on, so connections to it are refused; a context manager."""

    def __enter__(self):
        self.socket = socket.socket()
        self.socket.bind((LOOPBACK, 0))
        self.port = self.socket.getsockname()[1]
        return self

    def __exit__(self, *exc_info):
        self.socket.close()


def _keygen(path):
    """Write a new passphrase-less ed25519 key pair to ``path`` and ``path``.pub."""
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dvc-tests", "-f", str(path)], cwd=path.parent)


class SSHServer:
    """Debian's OpenSSH server on a free loopback port, for the current user only; a context manager.

    The host key and the one client key it accepts are generated into ``folder``; it serves
    SFTP from its own process (``internal-sftp``) and logs to ``folder``/sshd.log. With ``home``,
    sessions get that folder as $HOME and start their commands in it, so the server stands for
    another host with its own home (no SFTP then).
    """

    def __init__(self, folder, home=None):
        self.folder = Path(folder)
        self.home = home
        self.user = getpass.getuser()
        self.port = free_port()
        self.keyfile = self.folder / "client_key"
        self.log = self.folder / "sshd.log"
        self.process = None

    def url(self, path):
        """The ``ssh://`` URL of the absolute local ``path`` as this server sees it."""
        return f"ssh://{self.user}@{LOOPBACK}:{self.port}{Path(path).as_posix()}"

    def __enter__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        _keygen(self.folder / "host_key")
        _keygen(self.keyfile)
        options = f'environment="HOME={self.home}" ' if self.home else ""
        (self.folder / "authorized_keys").write_text(options + Path(f"{self.keyfile}.pub").read_text())
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        config = self._write_config()
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_until_listening()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def known_hosts_line(self):
        """This server's line for a known_hosts file."""
        return f"[{LOOPBACK}]:{self.port} {(self.folder / 'host_key.pub').read_text()}"

    def __exit__(self, *exc_info):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _write_config(self):
        path = self.folder / "sshd_config"
        path.write_text(
            "\n".join(
                [
                    f"ListenAddress {LOOPBACK}",
                    f"Port {self.port}",
                    f"HostKey {self.folder / 'host_key'}",
                    f"PidFile {self.folder / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.folder / 'authorized_keys'}",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    f"PermitUserEnvironment {'yes' if self.home else 'no'}",
                    "StrictModes no",
                    "Subsystem sftp internal-sftp",
                    *(['ForceCommand cd "$HOME" && eval "$SSH_ORIGINAL_COMMAND"'] if self.home else []),
                    "",
                ]
            )
        )
        return path

    def _wait_until_listening(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"sshd exited {self.process.returncode}:\n{self.log.read_text()}")
            try:
                socket.create_connection((LOOPBACK, self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        log = self.log.read_text()
        raise AssertionError(f"sshd did not listen on {LOOPBACK}:{self.port} within {timeout} s:\n{log}")
