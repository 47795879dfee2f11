"""A tour of storeroom on the embedded default (local folder + SQLite), no server needed.

Run it with ``make demo`` (or ``python examples/quickstart.py``). It reads
``examples/storeroom.toml`` next to this file; set ``STOREROOM_DEMO_ROOT`` to
choose where the local files go (default: ``./demo-data``).
"""

from __future__ import annotations

import os
from pathlib import Path

from storeroom import Registry, RegistryConfig
from storeroom.errors import AlreadyExists, InvalidPath, NotFound

HERE = Path(__file__).resolve().parent


def say(step: str) -> None:
    print(f"-> {step}")


def main() -> None:
    os.environ.setdefault("STOREROOM_DEMO_ROOT", str(HERE.parent / "demo-data"))
    config = RegistryConfig.from_toml(HERE / "storeroom.toml")
    say(f"loaded config: stores {sorted(config.stores)}, backends {sorted(config.backends)}")

    with Registry(config) as registry:
        reports = registry.get_store("reports")
        say(f"reports store: {reports.native_path()}")

        result = reports.write(
            "2026/summary.csv", b"region,total\nnorth,12\nsouth,7\n", overwrite=True
        )
        say(f"wrote {result.path} ({result.size} bytes)")

        reports.write_text("2026/notes.txt", "first draft\n", overwrite=True)
        with reports.open_atomic("2026/notes.txt", overwrite=True) as fh:
            fh.write(b"final notes, written atomically\n")
        say(f"notes now read: {reports.read_text('2026/notes.txt').strip()!r}")

        try:
            reports.write("2026/summary.csv", b"oops")
        except AlreadyExists as exc:
            say(f"refused to clobber without overwrite=True: {exc}")

        for info in reports.list_files("2026"):
            say(f"  listed {info.path:<22} {info.size:>4} bytes")
        say(f"glob '**/*.csv': {[str(i.path) for i in reports.glob('**/*.csv')]}")
        say(f"bytes 7..12 of summary: {reports.read_range('2026/summary.csv', 7, 12)!r}")

        cache = registry.get_store("cache")
        cache.write("lookup.json", b'{"north": 12}', overwrite=True)
        say(f"SQLite store has: {[str(i.path) for i in cache.list_files()]}")

        reports.copy("2026/summary.csv", "archive/summary-copy.csv", overwrite=True)
        reports.move("archive/summary-copy.csv", "archive/summary-final.csv", overwrite=True)
        info = reports.get_folder_info("")
        say(f"folder totals: {info.file_count} files, {info.total_size} bytes")

        for bad in ("../escape.txt", "a/\x00b"):
            try:
                reports.read_bytes(bad)
            except InvalidPath as exc:
                say(f"rejected unsafe path: {exc}")
        try:
            reports.read_bytes("missing.txt")
        except NotFound as exc:
            say(f"missing file is a typed error: {exc}")

        reports.delete_folder("archive", recursive=True)
        say("deleted archive/ — done.")


if __name__ == "__main__":
    main()
