"""Regenerate every figure of the README's Results section (it builds, trains and times
everything: tens of minutes on 2 cores; no single run of it has been timed).

    python bench/run_all.py [--home DIR]

Runs accuracy (fresh LETI_HOME: build default suite, train, evaluate), then speed and viewer
against the estimator it trained, then build; results land in bench/results/ and in the
README's Results section.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str) -> None:
    print(f"== {script} {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *args], check=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", default=tempfile.mkdtemp(prefix="leti-bench-"))
    a = ap.parse_args()
    run("accuracy.py", "--home", a.home)
    run("speed.py", "--home", a.home)
    run("viewer.py", "--home", a.home)
    run("build.py")
    run("readme_results.py")
