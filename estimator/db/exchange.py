"""Export every table to JSON Lines or CSV, and import such a file, so databases can be merged
between machines (and engines) without losing a row or a float bit."""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..errors import LetiError
from .engine import insert, writing
from .schema import EXPORT_TABLES, UNIQUE_KEYS

if TYPE_CHECKING:
    from .database import Database


def export_rows(db: Database) -> Iterator[dict[str, Any]]:
    with db.engine.connect() as c:
        for name, table in EXPORT_TABLES.items():
            pk = list(table.primary_key.columns)
            for row in c.execute(sa.select(table).order_by(*pk)).mappings():
                yield {"table": name, **{k: _encode(v) for k, v in row.items()}}


def export(db: Database, path: Path, fmt: str) -> int:
    """Write every row of every table; returns the number of rows."""
    rows = list(export_rows(db))
    if fmt == "jsonl":
        with open(path, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, sort_keys=True) + "\n")
    else:
        columns = ["table"] + sorted({k for r in rows for k in r if k != "table"})
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=columns)
            w.writeheader()
            for r in rows:
                w.writerow({k: _csv_cell(r.get(k, _ABSENT)) for k in columns})
    return len(rows)


def import_file(db: Database, path: Path, fmt: str) -> dict[str, int]:
    """Add rows that are not there yet; rows already present (same unique key) are kept.

    Builds get new ids (the rows that point at them follow); other rows keep no id of theirs
    but their unique key, so no explicit integer id is ever inserted and the engines'
    sequences stay right. One transaction: a file that fails half-way adds nothing. A row that
    a builder adds at the same moment is kept, like any row already there."""
    if fmt == "jsonl":
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    else:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [_csv_row(r) for r in csv.DictReader(f)]
    added = {name: 0 for name in EXPORT_TABLES}
    build_ids: dict[int, int] = {}
    with writing(db.engine) as c:
        for n, r in enumerate(rows, 1):
            name = r.pop("table", None)
            if name not in EXPORT_TABLES:
                raise LetiError(f"{path}: row for unknown table {name!r}")
            table = EXPORT_TABLES[name]
            values = {k: _decode(v) for k, v in r.items() if k in table.c}
            try:
                if name == "builds":
                    old = values.pop("id")
                    res = c.execute(table.insert().values(**values))
                    build_ids[old] = int(res.inserted_primary_key[0])
                    added[name] += 1
                    continue
                if values.get("build_id") is not None:
                    values["build_id"] = build_ids.get(values["build_id"], values["build_id"])
                if name != "devices":
                    values.pop("id", None)
                keys = UNIQUE_KEYS[name]
                stmt = (
                    insert(table, c.dialect.name)
                    .values(**values)
                    .on_conflict_do_nothing(index_elements=list(keys))
                    .returning(table.c[keys[0]])
                )
                added[name] += int(c.execute(stmt).first() is not None)
            except sa.exc.StatementError as exc:
                reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                raise LetiError(
                    f"{path}: row {n} ({name}) cannot be stored: {reason}",
                    "nothing was imported; is it a leti export?",
                ) from None
    return added


_ABSENT = object()


def _encode(v: Any) -> Any:
    """Binary columns (model skeletons) travel as base64 inside the JSON."""
    if isinstance(v, bytes | bytearray | memoryview):
        return {"$base64": base64.b64encode(bytes(v)).decode("ascii")}
    return v


def _decode(v: Any) -> Any:
    if isinstance(v, dict) and set(v) == {"$base64"}:
        return base64.b64decode(v["$base64"])
    return v


def _csv_cell(v: Any) -> str:
    """Every cell JSON-encoded, so types and floats survive the round trip exactly."""
    return "" if v is _ABSENT else json.dumps(v, sort_keys=True)


def _csv_row(r: dict[str, str]) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in r.items() if v != ""}
