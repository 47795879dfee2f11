"""The argument parser: global options, sub-commands, and the ``--help`` epilog."""

from __future__ import annotations

import argparse
from typing import NoReturn

from storeroom.cli.errors import EXIT_CODES, UsageError

__all__ = ["CliParser", "build_parser"]

_DESCRIPTION = """\
Work with the stores defined in a storeroom config file.
Addresses are STORE:path (STORE: or a bare STORE is the store root);
for put/get, anything that does not start with a configured 'STORE:' is a
local path, and '-' is stdin/stdout."""


def _epilog() -> str:
    rows = "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES)
    return (
        "config file:\n"
        "  --config PATH, else $STOREROOM_CONFIG, else ./storeroom.toml\n"
        "  (.toml, .yaml/.yml or .json; secrets are always shown as Secret('***'))\n\n"
        "output:\n"
        "  results go to stdout; errors are one 'storeroom: error: ...' line on stderr.\n"
        "  With --json, stdout holds one JSON document and an error is\n"
        '  {"error": {"type", "message", "path", "store", "backend", "hint",\n'
        '  "exit_code"}} on stderr. Transfers over 4 MiB show a progress bar on\n'
        "  stderr when it is a terminal (not with --quiet or --json).\n\n"
        f"exit codes:\n{rows}\n\n"
        "examples:\n"
        "  storeroom ls -l data:reports\n"
        "  storeroom put report.csv data:reports/\n"
        "  storeroom get data:reports/report.csv .\n"
        "  storeroom cp -r data:reports backup:reports\n"
        "  storeroom sync --delete ./site data:site\n"
        "  storeroom --json info data:reports/report.csv\n"
        "  storeroom url --expires 600 data:reports/report.csv\n"
    )


class CliParser(argparse.ArgumentParser):
    """An ArgumentParser that raises ``UsageError`` instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, usage=self.format_usage())


def _common(*, suppress: bool) -> CliParser:
    """Global options; on sub-commands they default to "not given" so either place works."""
    p = CliParser(add_help=False)
    default = argparse.SUPPRESS if suppress else None
    p.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help="config file (default: $STOREROOM_CONFIG, then ./storeroom.toml)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="machine-readable JSON output",
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="no status lines or progress bars (results and errors still print)",
    )
    return p


def build_parser() -> CliParser:
    """The full ``storeroom`` parser. Handlers are attached lazily by name."""
    from storeroom import __version__
    from storeroom._signed import DEFAULT_EXPIRES, MAX_EXPIRES

    parser = CliParser(
        prog="storeroom",
        description=_DESCRIPTION,
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"storeroom {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = [_common(suppress=True)]

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(
            name, help=help_text, description=help_text, parents=common
        )
        p.set_defaults(handler=name)
        return p

    p = add("ls", "list a folder, or the configured stores when no STORE is given")
    p.add_argument("target", nargs="?", metavar="STORE[:path]")
    p.add_argument("-r", "--recursive", action="store_true", help="every file below the folder")
    p.add_argument("-l", "--long", action="store_true", help="show size and modification time")

    p = add("cat", "write files' content to stdout")
    p.add_argument("targets", nargs="+", metavar="STORE:path")

    p = add("put", "upload a local file (or stdin) to a store")
    p.add_argument("local", metavar="LOCAL", help="local file, or - for stdin")
    p.add_argument("dst", metavar="STORE:path", help="target file, or a folder ending in /")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.add_argument("--atomic", action="store_true", help="readers never see a partial file")

    p = add("get", "download a file to a local path (or stdout)")
    p.add_argument("src", metavar="STORE:path")
    p.add_argument("local", metavar="LOCAL", help="local file or folder, or - for stdout")
    p.add_argument("--overwrite", action="store_true", help="replace an existing local file")

    for name, verb in (("cp", "copy"), ("mv", "move")):
        p = add(name, f"{verb} a file, or with -r a folder's files, within or across stores")
        p.add_argument("src", metavar="SRC", help="STORE:path")
        p.add_argument("dst", metavar="DST", help="STORE:path (a folder: end it with /)")
        p.add_argument("--overwrite", action="store_true", help="replace existing files")
        p.add_argument(
            "-r", "--recursive", action="store_true", help=f"{verb} every file below SRC into DST"
        )

    p = add("sync", "copy what is missing or different from SRC to DST (folders)")
    p.add_argument("src", metavar="SRC", help="STORE:path or a local folder")
    p.add_argument("dst", metavar="DST", help="STORE:path or a local folder")
    p.add_argument(
        "--delete", action="store_true", help="delete files in DST that SRC does not have"
    )
    p.add_argument(
        "-n", "--dry-run", action="store_true", help="print what would be done; change nothing"
    )
    p.add_argument(
        "-c",
        "--checksum",
        action="store_true",
        help="compare same-size files by SHA-256 content digest instead of times/etags",
    )
    p.add_argument(
        "-j", "--jobs", type=int, default=16, metavar="N", help="files in parallel (default 16)"
    )

    p = add("rm", "delete a file, or with -r a folder")
    p.add_argument("target", metavar="STORE:path")
    p.add_argument("-r", "--recursive", action="store_true", help="delete a folder and its content")
    p.add_argument("--missing-ok", action="store_true", help="no error when it does not exist")
    p.add_argument(
        "--if-match",
        metavar="ETAG",
        help="delete only while the file's etag is ETAG (from `info`); else exit 1, file kept",
    )

    p = add("info", "show facts about a file or folder")
    p.add_argument("target", metavar="STORE[:path]")

    p = add("ping", "check that stores answer (all stores when none are named)")
    p.add_argument("stores", nargs="*", metavar="STORE")

    p = add("url", "print a signed URL that downloads (or uploads) a file without credentials")
    p.add_argument("target", metavar="STORE:path")
    p.add_argument(
        "--expires",
        type=int,
        default=DEFAULT_EXPIRES,
        metavar="SECONDS",
        help=f"lifetime of the URL in seconds, at most {MAX_EXPIRES} = 7 days "
        f"(default {DEFAULT_EXPIRES})",
    )
    p.add_argument("--put", action="store_true", help="a URL for uploading (HTTP PUT) instead")

    p = add("config", "inspect the config file")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    c = csub.add_parser(
        "check", help="load and validate the config", parents=common, description=None
    )
    c.set_defaults(handler="config check")
    c = csub.add_parser("show", help="print the resolved config, secrets masked", parents=common)
    c.add_argument(
        "--format", choices=("toml", "json"), default="toml", help="output format (default toml)"
    )
    c.set_defaults(handler="config show")
    return parser
