"""``CryptLayer``: client-side encryption byte-compatible with rclone's ``crypt`` remote.

Contents are sealed in rclone's format (``_crypt_data``) and names in one of
its three schemes (``_crypt_names``), so a folder written through this layer
is read by ``rclone`` configured as a crypt remote with the same passwords,
and the other way round (spec CRYPT-*). Needs the ``crypt`` extra (PyNaCl,
cryptography).
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, BinaryIO, Literal, cast

from storeroom.backend import Backend, Entry, Source, rel_key
from storeroom.capabilities import Capability
from storeroom.config.secret import Secret
from storeroom.errors import ConfigError, DecryptionError, NotFound, StoreroomError
from storeroom.layers._base import Layer, LayerOptions, build_options
from storeroom.layers._crypt_data import (
    BLOCK,
    CHUNK,
    HEADER,
    OpeningReader,
    SealingReader,
    check_header,
    decrypted_size,
    derive_keys,
    obscure,
    read_full,
    reveal,
    seal_bytes,
)
from storeroom.layers._crypt_names import NameCipher, NameError_
from storeroom.models import FileInfo, FolderEntry, WriteResult
from storeroom.path import RemotePath

if TYPE_CHECKING:
    from storeroom._txn_core import BackendTransaction

__all__ = ["CryptLayer", "CryptOptions", "obscure"]

Mode = Literal["standard", "obfuscate", "off"]


@dataclasses.dataclass(frozen=True)
class CryptOptions(LayerOptions):
    """rclone crypt's options: passwords (plain, or obscured as in rclone.conf) and name scheme."""

    layer_type = "crypt"

    password: Secret | None = None
    password2: Secret | None = None
    filename_encryption: Mode = "standard"
    directory_name_encryption: bool = True
    suffix: str = ".bin"
    obscured: bool = False

    def rules(self) -> list[tuple[str, bool, str]]:
        return [
            ("password", bool(self.password), "a non-empty password"),
            (
                "filename_encryption",
                self.filename_encryption in ("standard", "obfuscate", "off"),
                '"standard", "obfuscate" or "off"',
            ),
            (
                "suffix",
                self.suffix.lower() == "none"
                or (self.suffix.startswith(".") and "/" not in self.suffix),
                'a suffix starting with "." (or "none")',
            ),
        ]

    def check(self, where: str) -> None:
        super().check(where)
        self.plain_passwords(where)

    def plain_passwords(self, where: str) -> tuple[str, str]:
        """``(password, password2)`` in plain text, revealing obscured values."""
        first = self.password.reveal() if self.password else ""
        second = self.password2.reveal() if self.password2 else ""
        if self.obscured:
            first = reveal(first, f"{where}.password")
            second = reveal(second, f"{where}.password2") if second else ""
            if not first:
                raise ConfigError(
                    f"{where}.password: the obscured password is empty", key=f"{where}.password"
                )
        return first, second


def _secret(value: str | Secret | None) -> Secret | None:
    return value if value is None or isinstance(value, Secret) else Secret(value)


class CryptLayer(Layer):
    """Encrypts contents and names on the way in, decrypts them on the way out."""

    Options = CryptOptions
    options: CryptOptions

    def __init__(
        self,
        inner: Backend,
        password: str | Secret | None = None,
        password2: str | Secret | None = None,
        filename_encryption: Mode = "standard",
        directory_name_encryption: bool = True,
        suffix: str = ".bin",
        obscured: bool = False,
    ) -> None:
        super().__init__(inner)
        self.options = build_options(
            CryptOptions,
            "crypt",
            password=_secret(password),
            password2=_secret(password2),
            filename_encryption=filename_encryption,
            directory_name_encryption=directory_name_encryption,
            suffix=suffix,
            obscured=obscured,
        )
        try:
            import cryptography  # noqa: F401
            import nacl  # noqa: F401
        except ImportError:
            raise ConfigError(
                "the crypt layer needs PyNaCl and cryptography",
                hint="pip install 'storeroom[crypt]'",
            ) from None
        keys = derive_keys(*self.options.plain_passwords("crypt"))
        self._data_key = keys.data
        self.names = NameCipher(
            filename_encryption,
            keys.name,
            keys.tweak,
            dirs=directory_name_encryption,
            suffix="" if suffix.lower() == "none" else suffix,
        )
        # Stored digests are of the ciphertext: none is reported (CRYPT-033); a
        # signed URL would hand out ciphertext, so none is issued (CRYPT-034).
        self.capabilities = inner.capabilities - {
            Capability.WRITE_RESULT_NATIVE,
            Capability.SIGNED_URL,
            Capability.TRANSACTION,
        }

    def begin_transaction(self) -> BackendTransaction:
        """Refused: the inner transaction would stage plain bytes (CRYPT-036)."""
        return Backend.begin_transaction(self)

    def signed_url(self, key: str, expires: int, method: str) -> str:
        """Refused: a URL would bypass the layer and serve ciphertext (CRYPT-034)."""
        return Backend.signed_url(self, key, expires, method)

    def _plain_key(self, stored: str) -> str:
        """The plain key of a stored key (for error paths); as stored when it does not decrypt."""
        parts = stored.split("/")
        try:
            plain = [self.names.dir_name(p) for p in parts[:-1]]
            try:
                plain.append(self.names.file_name(parts[-1]))
            except NameError_:
                plain.append(self.names.dir_name(parts[-1]))
        except NameError_:
            return stored
        return "/".join(plain)

    @contextlib.contextmanager
    def _plain_errors(self) -> Iterator[None]:
        """Errors from the inner backend name plain keys, never stored ones (CRYPT-034)."""
        try:
            yield
        except StoreroomError as exc:
            if exc.path:
                exc.path = self._plain_key(exc.path)
            raise

    # -- reading ----------------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        with self._plain_errors():
            if not key:
                return self.inner.stat(key)
            try:
                return self._plain_file(self.inner.stat(self.names.file_key(key)), key)
            except NotFound:
                found = self.inner.stat(self.names.dir_key(key))
                if isinstance(found, FolderEntry):
                    return FolderEntry._fast(key, key.rsplit("/", 1)[-1])
                raise

    def _plain_file(self, entry: Entry, key: str) -> Entry:
        if not isinstance(entry, FileInfo):
            raise NotFound("file not found", path=key)
        try:
            size = decrypted_size(entry.size)
        except DecryptionError as exc:
            raise exc.with_context(path=key) from None
        return FileInfo._fast(
            key,
            key.rsplit("/", 1)[-1],
            size,
            entry.modified_at,
            entry.etag,
            entry.content_type,
            entry.metadata,
        )

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        with self._plain_errors():
            return self._open_read(key, start, end)

    def _open_read(self, key: str, start: int | None, end: int | None) -> BinaryIO:
        stored = self.names.file_key(key)
        first = (start or 0) // CHUNK
        if first == 0:
            stream = self.inner.open_read(stored, None, _stored_end(end))
            try:
                nonce = check_header(read_full(stream, HEADER))
            except DecryptionError as exc:
                stream.close()
                raise exc.with_context(path=key) from None
        else:
            with self.inner.open_read(stored, 0, HEADER) as head:
                try:
                    nonce = check_header(read_full(head, HEADER))
                except DecryptionError as exc:
                    raise exc.with_context(path=key) from None
            stream = self.inner.open_read(stored, HEADER + first * BLOCK, _stored_end(end))
        skip = (start or 0) - first * CHUNK
        limit = None if end is None else max(0, end - (start or 0))
        reader = OpeningReader(stream, self._data_key, nonce, first, skip, limit, key)
        return cast(BinaryIO, reader)

    def exists(self, key: str) -> bool:
        with self._plain_errors():
            return self.inner.exists(self.names.file_key(key)) or self.is_folder(key)

    def is_folder(self, key: str) -> bool:
        with self._plain_errors():
            return self.inner.is_folder(self.names.dir_key(key))

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Entries under ``prefix``: one stored folder at a time, decrypted and sorted.

        Stored names do not sort like plain ones, so each folder's entries are
        collected and sorted; a recursive listing walks depth first (CRYPT-040).
        """
        with self._plain_errors():
            entries = self._folder(prefix)
        for entry in entries:
            plain = entry.path
            if isinstance(entry, FolderEntry):
                yield FolderEntry._fast(rel_key(plain, base), entry.name)
                if recursive:
                    yield from self.list(plain, recursive=True, base=base)
            else:
                yield entry._rebase(rel_key(plain, base))

    def _folder(self, prefix: str) -> builtins.list[Entry]:
        out: builtins.list[Entry] = []
        stored_prefix = self.names.dir_key(prefix)
        for entry in self.inner.list(stored_prefix, recursive=False, base=stored_prefix):
            stored_name = entry.path.rsplit("/", 1)[-1]
            try:
                if isinstance(entry, FolderEntry):
                    name = self.names.dir_name(stored_name)
                    out.append(FolderEntry._fast(f"{prefix}/{name}" if prefix else name, name))
                else:
                    name = self.names.file_name(stored_name)
                    key = f"{prefix}/{name}" if prefix else name
                    out.append(
                        FileInfo._fast(
                            key,
                            name,
                            decrypted_size(entry.size),
                            entry.modified_at,
                            entry.etag,
                            entry.content_type,
                            entry.metadata,
                        )
                    )
            except (NameError_, DecryptionError):
                continue  # not written by this layer with these keys (CRYPT-041)
        out.sort(key=lambda e: e.path + "/" if isinstance(e, FolderEntry) else e.path)
        return out

    # -- writing ----------------------------------------------------------------------

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        with self._plain_errors():
            return self._write(key, src, overwrite=overwrite, metadata=metadata, atomic=atomic)

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Seal, then replace only while the stored file's etag is ``etag`` (CRYPT-035)."""
        with self._plain_errors():
            return self._write(
                key, src, overwrite=True, metadata=metadata, atomic=atomic, etag=etag
            )

    def _write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool,
        metadata: Mapping[str, str] | None,
        atomic: bool,
        etag: str | None = None,
    ) -> WriteResult:
        stored = self.names.file_key(key)

        def put(sealed: Source) -> WriteResult:
            if etag is not None:
                return self.inner.write_if_match(
                    stored, sealed, etag, metadata=metadata, atomic=atomic
                )
            return self.inner.write(
                stored, sealed, overwrite=overwrite, metadata=metadata, atomic=atomic
            )

        if isinstance(src, bytes | bytearray | memoryview):
            plain = bytes(src)
            return _plain_result(put(seal_bytes(plain, self._data_key)), key, len(plain))
        sealing = SealingReader(src, self._data_key)
        result = put(sealing)  # type: ignore[arg-type]
        return _plain_result(result, key, sealing.plain_bytes)

    def delete_if_match(self, key: str, etag: str) -> None:
        with self._plain_errors():
            self.inner.delete_if_match(self.names.file_key(key), etag)

    def delete(self, key: str) -> None:
        with self._plain_errors():
            self.inner.delete(self.names.file_key(key))

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        stored = {self.names.file_key(k): k for k in keys}
        with self._plain_errors():
            results = self.inner.delete_many(list(stored))
        out: dict[str, StoreroomError | None] = {}
        for sk, err in results.items():
            plain = stored.get(sk, sk)
            if err is not None:
                err.path = plain
            out[plain] = err
        return out

    def discard(self, key: str) -> None:
        with self._plain_errors():
            self.inner.discard(self.names.file_key(key))

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        with self._plain_errors():
            stored = self.names.file_key(src)
            result = self.inner.copy(stored, self.names.file_key(dst), overwrite=overwrite)
            return _plain_result(result, dst, decrypted_size(result.size))

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        with self._plain_errors():
            stored = self.names.file_key(src)
            self.inner.move(stored, self.names.file_key(dst), overwrite=overwrite)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        with self._plain_errors():
            self.inner.remove_folder(self.names.dir_key(key), recursive=recursive)

    def describe(self) -> Mapping[str, object]:
        return {**self.inner.describe(), "crypt": self.names.mode}


def _stored_end(end: int | None) -> int | None:
    """Stored offset just past the chunk holding plain byte ``end - 1``."""
    if end is None:
        return None
    chunks = -(-end // CHUNK)
    return HEADER + chunks * BLOCK


def _plain_result(result: WriteResult, key: str, size: int) -> WriteResult:
    """The inner result under the plain key and size; the ciphertext's digest is dropped."""
    return dataclasses.replace(result, path=RemotePath._trusted(key), size=size, digest=None)
