"""Where leti-view keeps its database and trained estimators.

``LETI_HOME`` wins so that tests, CI and teams sharing a folder never touch a user's data.
"""

from __future__ import annotations

import os
from pathlib import Path


def leti_home() -> Path:
    env = os.environ.get("LETI_HOME")
    if env:
        home = Path(env).expanduser()
    else:
        from platformdirs import user_data_dir

        home = Path(user_data_dir("leti-view", appauthor=False))
    home.mkdir(parents=True, exist_ok=True)
    return home


def default_db_url() -> str:
    return f"sqlite:///{leti_home() / 'leti.sqlite'}"


def estimators_dir() -> Path:
    path = leti_home() / "estimators"
    path.mkdir(parents=True, exist_ok=True)
    return path
