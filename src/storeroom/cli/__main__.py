"""``python -m storeroom.cli``: the same as the ``storeroom`` console script."""

from __future__ import annotations

import sys

from storeroom.cli import main

if __name__ == "__main__":
    sys.exit(main())
