"""``main``: parse, dispatch to a command handler, map every failure to an exit code.

No traceback ever reaches the user: storeroom errors print one line (or a
JSON document with ``--json``) and their exit code; anything unexpected is
exit code 1; Ctrl-C is 130 (spec CLI-030..035).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from storeroom.cli.args import build_parser
from storeroom.cli.errors import ExitCode, UsageError, exit_code_for
from storeroom.cli.output import Output

__all__ = ["main"]


#: Sub-command -> (module in storeroom.cli, function); imported only when run.
_HANDLERS: dict[str, tuple[str, str]] = {
    "ls": ("commands", "cmd_ls"),
    "cat": ("commands", "cmd_cat"),
    "info": ("commands", "cmd_info"),
    "rm": ("commands", "cmd_rm"),
    "ping": ("commands", "cmd_ping"),
    "url": ("url", "cmd_url"),
    "put": ("transfer", "cmd_put"),
    "get": ("transfer", "cmd_get"),
    "cp": ("transfer", "cmd_cp"),
    "mv": ("transfer", "cmd_mv"),
    "sync": ("sync", "cmd_sync"),
    "config check": ("configfile", "cmd_config_check"),
    "config show": ("configfile", "cmd_config_show"),
}


def _handler(name: str) -> Callable[..., int]:
    module, attr = _HANDLERS[name]
    handler: Callable[..., int] = getattr(importlib.import_module(f"storeroom.cli.{module}"), attr)
    return handler


def _local_error(exc: OSError) -> Exception:
    """A storeroom error for a failure on the local side (reading or writing a local file)."""
    from storeroom.errors import AlreadyExists, NotFound, PermissionDenied, StoreroomError

    where = exc.filename if isinstance(exc.filename, str) else None
    reason = exc.strerror or str(exc) or type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        return NotFound(f"local path not found ({reason})", path=where)
    if isinstance(exc, PermissionError):
        return PermissionDenied(f"local permission denied ({reason})", path=where)
    if isinstance(exc, FileExistsError):
        return AlreadyExists(f"local path already exists ({reason})", path=where)
    if isinstance(exc, IsADirectoryError):
        return UsageError(f"local path {where} is a folder")
    return StoreroomError(f"local I/O error: {reason}", path=where)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit flush stays quiet."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``storeroom`` command; returns the exit code (see ``storeroom --help``)."""
    arg_list = list(sys.argv[1:] if argv is None else argv)
    out = Output(json_mode="--json" in arg_list)
    parser = build_parser()
    try:
        args = parser.parse_args(arg_list)
    except UsageError as exc:
        out.error(exc, ExitCode.USAGE)
        return int(ExitCode.USAGE)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else int(ExitCode.USAGE)
    if args.command is None:
        parser.print_help(sys.stderr)
        return int(ExitCode.USAGE)
    out = Output(json_mode=args.json, quiet=args.quiet)

    from storeroom.cli.context import Context
    from storeroom.errors import AlreadyExists

    ctx = Context(args, out)
    try:
        return _handler(args.handler)(ctx)
    except KeyboardInterrupt:
        out.stderr.write("\nstoreroom: interrupted\n")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        _silence_stdout()
        return int(ExitCode.BROKEN_PIPE)
    except Exception as exc:
        error: BaseException = exc
        if isinstance(exc, OSError) and not hasattr(exc, "message"):
            error = _local_error(exc)
        if isinstance(error, AlreadyExists) and hasattr(args, "overwrite"):
            error.hint = "pass --overwrite to replace it"
        code = exit_code_for(error)
        out.error(error, code)
        return int(code)
    finally:
        ctx.close()
