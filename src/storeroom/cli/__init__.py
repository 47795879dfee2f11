"""The ``storeroom`` command line: ``ls``, ``cat``, ``put``, ``get``, ``cp``, ``mv``,
``rm``, ``info``, ``ping``, ``url`` and ``config check|show`` over the stores of a config file.

Run ``storeroom --help`` for usage and the exit code table
(``storeroom.cli.errors.EXIT_CODES``). Importing this package is cheap:
no backend SDK and no ``rich`` is loaded until a command needs it.
"""

from __future__ import annotations

from storeroom.cli.app import main
from storeroom.cli.errors import EXIT_CODES, ExitCode

__all__ = ["EXIT_CODES", "ExitCode", "main"]
