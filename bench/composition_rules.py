"""How the rule that picks the composition's form does on families it never saw.

Training picks the composition's form by leave-one-family-out cross-validation and the
one-standard-error rule (``estimator/learn/composition.py``). That score is of each form, not
of the rule that picks one: here each family is held out in turn, the form is picked on the
other families alone by each rule (their own leave-one-family-out scores), refitted on them,
and the held-out family is predicted. Rules:

- ``one standard error``: the simplest form within one standard error of the best, among
  every form (training's rule until 2026-12-07);
- ``best``: the form of least cross-validated error;
- ``spill kept``: the one-standard-error rule among the forms that price weights beyond the
  cache, once any network's weights overflow it (training's rule since 2026-12-07).

Each home's saved estimator prices its networks (the single-op predictions the composition
sums), as training does.

    python3 bench/composition_rules.py --home LABEL=DIR [--home ...] [--name NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import md_table, save  # noqa: E402

RULES = ("one standard error", "best", "spill kept")


def nested(home: str) -> dict[str, dict[str, float]]:
    """Every rule's held-out error on the home's networks (run in the home's own process)."""
    import numpy as np
    from leti.estimator.db import open_db
    from leti.estimator.devices import DeviceSpec, profile_id
    from leti.estimator.learn import composition as C
    from leti.estimator.predict.store import load
    from leti.estimator.services.train import composition_networks, learnable

    os.environ["LETI_HOME"] = home
    device = profile_id(DeviceSpec.parse("host"))
    db = open_db()
    fast, _, rows, nets = learnable(db, device)
    networks = composition_networks(db, device, load(device), nets, fast)
    floor = min(r["median_ms"] for r in rows)
    M = np.array([n.measured_ms for n in networks])
    fams = np.array([n.family for n in networks])
    cands = C.candidates(gpu=False)
    sums, col = C.column_sums(cands, networks)
    kept = {name for name, _ in C.competing(cands, sums, col, gpu=False)}
    held = {rule: np.zeros(len(M)) for rule in RULES}
    for fam in sorted(set(fams)):
        test, train = np.flatnonzero(fams == fam), np.flatnonzero(fams != fam)
        scored = C.score_forms(cands, sums[train], col, M[train],
                               C._groups(list(fams[train])), floor)  # fmt: skip
        picks = {
            "one standard error": C.one_standard_error(scored),
            "best": min(scored, key=lambda s: s.mape),
            "spill kept": C.one_standard_error([s for s in scored if s.name in kept]),
        }
        for rule, s in picks.items():
            held[rule][test] = C.predict_held_out(s.columns, sums, col, M, train, test, floor)
    real = np.array([f.startswith("zoo:") for f in fams])
    out = {}
    for rule, h in held.items():
        e = np.abs(h - M) / M
        out[rule] = {
            "mape": float(e.mean() * 100),
            "within_10": float(np.mean(e <= 0.10) * 100),
            "real_mape": float(e[real].mean() * 100) if real.any() else None,
            "generated_mape": float(e[~real].mean() * 100),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", action="append", required=True, help="LABEL=LETI_HOME (repeat)")
    ap.add_argument("--name", default="composition_rules")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: one home, in its own process
    a = ap.parse_args()
    if a.one:
        print(json.dumps(nested(a.one)))
        return
    results, rows = {}, []
    for label, home in (h.split("=", 1) for h in a.home):
        cmd = [sys.executable, __file__, "--home", "x=x", "--one", home]
        got = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        results[label] = json.loads(got.strip().splitlines()[-1])
        for rule, r in results[label].items():
            rows.append([label, rule, r["mape"], r["within_10"], r["real_mape"],
                         r["generated_mape"]])  # fmt: skip
        print(f"{label}: done", flush=True)
    md = f"""
### The composition's form rule, held out family by family (nested cross-validation)

Each family held out in turn; the form picked on the other families by each rule, refitted on
them, and the held-out family's networks predicted (`bench/composition_rules.py`).

{md_table(["home", "rule", "MAPE %", "within ±10 %", "real corpus MAPE %", "generated MAPE %"], rows)}
"""
    save(a.name, {"homes": dict(h.split("=", 1) for h in a.home), "rules": results}, md)


if __name__ == "__main__":
    main()
