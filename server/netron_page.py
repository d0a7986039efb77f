"""Serve the installed Netron package as our graph view, neutralised for local, offline use.

Netron's stock page would ask an outside service for the visitor's country (consent banner),
refuse to start once its build date is 180 days old, and send analytics. We rewrite its
``index.html`` meta tags per request, set the consent cookie, and add our overlay's same-origin
script and stylesheet; the Content-Security-Policy header keeps every request on this machine.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
from functools import cache
from pathlib import Path

NETRON_VERSION = "9.3.3"


@cache
def netron_dir() -> Path:
    import netron

    return Path(os.path.dirname(netron.__file__))


@cache
def _stock_index() -> str:
    return (netron_dir() / "index.html").read_text(encoding="utf-8")


def index_html(model_url: str, model_name: str, extra_meta: dict[str, str]) -> str:
    page = _stock_index()
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    # version 0.0.0 switches Netron's telemetry off; a fresh date keeps the age lock away
    page = re.sub(
        r'<meta name="version" content="[^"]*">', '<meta name="version" content="0.0.0">', page
    )
    page = re.sub(
        r'<meta name="date" content="[^"]*">', f'<meta name="date" content="{today}">', page
    )
    metas = [
        f'<meta name="file" content="{html.escape(model_url)}">',
        f'<meta name="identifier" content="{html.escape(model_name)}">',
    ]
    metas += [
        f'<meta name="{html.escape(k)}" content="{html.escape(v)}">' for k, v in extra_meta.items()
    ]
    metas += [
        '<link rel="stylesheet" type="text/css" href="/leti-static/overlay.css">',
        '<script type="text/javascript" src="/leti-static/api.js"></script>',
        '<script type="text/javascript" src="/leti-static/overlay.js"></script>',
    ]
    return page.replace("<title>Netron</title>", "<title>leti-view</title>\n" + "\n".join(metas), 1)


CSP = (
    "default-src 'self'; connect-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "worker-src 'self' blob:; frame-src 'none'; object-src 'none'; base-uri 'self'"
)
