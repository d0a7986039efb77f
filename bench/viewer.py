"""Time from page load to every badge drawn, in headless Debian Chromium.

The overlay stamps ``performance.now()`` (milliseconds since navigation start) on
``body[data-leti-drawn-at]`` when the last badge of the first render is in place.

    python bench/viewer.py --home DIR   # DIR holds a trained host estimator
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from common import md_table, save  # noqa: E402
from synthetic import stacked  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", default="50,250,500,1000")
    args = ap.parse_args()
    os.environ["LETI_HOME"] = args.home
    from browser import browser_page, live_server
    from leti.estimator.graph import read_model
    from leti.server.app import ViewerState

    rows, data = [], {}
    for n in [int(s) for s in args.sizes.split(",")]:
        path = stacked(n, HERE / "models" / f"stacked_{n}.tflite")
        ops = len(read_model(path).nodes)
        state = ViewerState()
        state.add_model(path.read_bytes(), path.name)
        state.estimator("host")  # the server warms it at start-up too
        times = []
        with live_server(state) as base:
            for _ in range(args.repeat):
                with browser_page() as page:
                    page.goto(f"{base}/m/{state.initial}/")
                    page.wait_for_selector("body[data-leti-drawn-at]", timeout=120000)
                    drawn = float(page.get_attribute("body", "data-leti-drawn-at"))
                    badges = page.locator("g.leti-badge").count()
                    assert badges == ops, (badges, ops)
                    times.append(drawn / 1000)
        data[n] = {"operators": ops, "seconds": times, "median_s": statistics.median(times)}
        rows.append([ops, statistics.median(times), min(times), max(times), badges])
    md = f"""
### Viewer: page load to every badge drawn (headless Chromium, median of {args.repeat})

{md_table(["operators", "median s", "min s", "max s", "badges"], rows)}
"""
    save("viewer", {"sizes": data}, md)


if __name__ == "__main__":
    main()
