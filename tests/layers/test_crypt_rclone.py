"""Byte compatibility with the real ``rclone`` binary, in both directions (spec CRYPT-050..053).

``rclone`` (Debian package, installed by ``scripts/services up``) is configured
as a crypt remote over a local folder; storeroom's crypt layer works on the
same folder through the local backend.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from storeroom import Store
from storeroom.backends.local import LocalBackend
from storeroom.errors import DecryptionError
from storeroom.layers import CryptLayer
from storeroom.layers._crypt_data import CHUNK

RCLONE = shutil.which("rclone")

SIZES = {
    "empty": 0,
    "one.txt": 1,
    "chunk-minus.bin": CHUNK - 1,
    "chunk.bin": CHUNK,
    "chunk-plus.bin": CHUNK + 1,
    "two-chunks.bin": 2 * CHUNK,
    "sub/two-minus.bin": 2 * CHUNK - 1,
    "sub/deeper/two-plus.bin": 2 * CHUNK + 1,
    "sub/ünï cödé 漢字!.txt": 5000,
}

MODES = [
    ("standard", True),
    ("standard", False),
    ("obfuscate", True),
    ("obfuscate", False),
    ("off", True),
]


def data_of(name: str, size: int) -> bytes:
    seed = sum(name.encode())
    return bytes((i * 31 + seed + i // 977) % 256 for i in range(size))


@pytest.fixture
def rclone() -> str:
    if RCLONE is None:
        pytest.fail(
            "the rclone binary is missing: `scripts/services up` installs it "
            "(Debian package rclone), or apt-get install rclone"
        )
    return RCLONE


class Remote:
    """An rclone crypt remote ``c:`` over ``folder``, configured in a private rclone.conf."""

    def __init__(self, binary: str, tmp: Path, folder: Path, **opts: Any) -> None:
        self.binary = binary
        self.env = {**os.environ, "RCLONE_CONFIG": str(tmp / "rclone.conf")}
        lines = ["[c]", "type = crypt", f"remote = {folder}"]
        lines.append(f"password = {self.obscure(opts['password'])}")
        if opts.get("password2"):
            lines.append(f"password2 = {self.obscure(opts['password2'])}")
        lines.append(f"filename_encryption = {opts.get('filename_encryption', 'standard')}")
        dirs = str(opts.get("directory_name_encryption", True)).lower()
        lines.append(f"directory_name_encryption = {dirs}")
        (tmp / "rclone.conf").write_text("\n".join(lines) + "\n")

    def obscure(self, plain: str) -> str:
        return self.run("obscure", plain).decode().strip()

    def run(self, *args: str, stdin: bytes | None = None) -> bytes:
        done = subprocess.run(
            [self.binary, *args], input=stdin, capture_output=True, env=self.env, timeout=120
        )
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout


def store_for(folder: Path, **opts: Any) -> Store:
    return Store(CryptLayer(LocalBackend(str(folder)), **opts))


def options(mode: str, dirs: bool, salted: bool) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "password": "storeroom ♥ rclone",
        "filename_encryption": mode,
        "directory_name_encryption": dirs,
    }
    if salted:
        opts["password2"] = "a pinch of salt"
    return opts


@pytest.mark.parametrize("salted", [False, True], ids=["default-salt", "password2"])
@pytest.mark.parametrize(("mode", "dirs"), MODES, ids=[f"{m}-dirs{d}" for m, d in MODES])
def test_rclone_reads_what_storeroom_wrote(
    rclone: str, tmp_path: Path, mode: str, dirs: bool, salted: bool
) -> None:
    # spec: CRYPT-050, CRYPT-052
    folder = tmp_path / "data"
    folder.mkdir()
    opts = options(mode, dirs, salted)
    store = store_for(folder, **opts)
    for name, size in SIZES.items():
        store.write(name, data_of(name, size))
    remote = Remote(rclone, tmp_path, folder, **opts)
    listed = json.loads(remote.run("lsjson", "-R", "--files-only", "c:"))
    assert {e["Path"]: e["Size"] for e in listed} == SIZES
    out = tmp_path / "out"
    remote.run("copy", "c:", str(out))
    for name, size in SIZES.items():
        assert (out / name).read_bytes() == data_of(name, size), name
    assert remote.run("cat", "c:sub/deeper/two-plus.bin") == data_of(
        "sub/deeper/two-plus.bin", 2 * CHUNK + 1
    )


@pytest.mark.parametrize("salted", [False, True], ids=["default-salt", "password2"])
@pytest.mark.parametrize(("mode", "dirs"), MODES, ids=[f"{m}-dirs{d}" for m, d in MODES])
def test_storeroom_reads_what_rclone_wrote(
    rclone: str, tmp_path: Path, mode: str, dirs: bool, salted: bool
) -> None:
    # spec: CRYPT-051, CRYPT-052
    folder = tmp_path / "data"
    folder.mkdir()
    src = tmp_path / "src"
    for name, size in SIZES.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data_of(name, size))
    opts = options(mode, dirs, salted)
    remote = Remote(rclone, tmp_path, folder, **opts)
    remote.run("copy", str(src), "c:")
    piped = data_of("piped", 3 * CHUNK + 7)
    remote.run("rcat", "c:sub/piped.dat", stdin=piped)
    store = store_for(folder, **opts)
    expected = {**SIZES, "sub/piped.dat": len(piped)}
    listing = {f.path: f.size for f in store.list_files("", recursive=True)}
    assert listing == expected
    for name, size in SIZES.items():
        assert store.read_bytes(name) == data_of(name, size), name
    assert store.read_bytes("sub/piped.dat") == piped
    start = 2 * CHUNK - 3
    assert store.read_range("sub/piped.dat", start, start + 10) == piped[start : start + 10]
    assert store.get_file_info("sub/piped.dat").size == len(piped)


def test_obscured_passwords_from_rclone_conf(rclone: str, tmp_path: Path) -> None:
    # spec: CRYPT-003, CRYPT-053
    folder = tmp_path / "data"
    folder.mkdir()
    opts = options("standard", True, True)
    remote = Remote(rclone, tmp_path, folder, **opts)
    remote.run("rcat", "c:note.txt", stdin=b"from rclone")
    conf = (tmp_path / "rclone.conf").read_text().splitlines()
    obscured = dict(line.split(" = ", 1) for line in conf if " = " in line)
    store = store_for(
        folder,
        password=obscured["password"],
        password2=obscured["password2"],
        obscured=True,
    )
    assert store.read_bytes("note.txt") == b"from rclone"


def test_storeroom_detects_tampering_in_an_rclone_file(rclone: str, tmp_path: Path) -> None:
    # spec: CRYPT-016, CRYPT-051
    folder = tmp_path / "data"
    folder.mkdir()
    opts = options("off", True, False)
    remote = Remote(rclone, tmp_path, folder, **opts)
    remote.run("rcat", "c:f", stdin=b"z" * (CHUNK + 10))
    stored = folder / "f.bin"
    raw = bytearray(stored.read_bytes())
    raw[-3] ^= 0x40
    stored.write_bytes(bytes(raw))
    store = store_for(folder, **opts)
    assert store.read_range("f", 0, 10) == b"z" * 10
    with pytest.raises(DecryptionError):
        store.read_bytes("f")
