"""``storeroom url STORE:path``: print a signed URL for one file (spec SIGN-080..082).

The command only presents ``Store.url``: the store checks the method, the
lifetime and the capability. The URL is printed unmasked on purpose (handing
it out is the point); it is a credential until it expires.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storeroom.cli.context import Context

__all__ = ["cmd_url"]


def cmd_url(ctx: Context) -> int:
    """Print a GET (or ``--put``: PUT) URL for a file, valid ``--expires`` seconds."""
    args = ctx.args
    addr = ctx.remote(args.target)
    method = "PUT" if args.put else "GET"
    url = ctx.store(addr.store).url(addr.path, expires=args.expires, method=method)
    if ctx.out.json_mode:
        record = {
            "store": addr.store,
            "path": addr.key,
            "method": method,
            "expires_s": args.expires,
            "url": url,
        }
        # Output.json masks credentials in every string; this URL is the result itself.
        ctx.out.stdout.write(json.dumps(record, indent=2) + "\n")
    else:
        ctx.out.line(url)
    return 0
