"""The published phones: importing mobile-ml-benchmark, the delegate's rules learned from its
labels, the zoo's skeletons against its rows, and estimating and scoring a phone profile.

The 12-model fixture in tests/data is the dataset's own rows (byte for byte); the checks on
the whole dataset skip without ../shared."""

from __future__ import annotations

import csv
import json
import math
import shutil
import struct
from pathlib import Path

import pytest
from conftest import HERE, PHONE_SUBSET
from leti.estimator import zoo
from leti.estimator.db import open_db
from leti.estimator.devices.published import KERNELS_FILE, MODELS_FILE, PHONES
from leti.estimator.kernels.labels import parse
from leti.estimator.kernels.learn import Labelled, learn
from leti.estimator.kernels.match import align
from leti.estimator.kernels.plan import plan

FULL = HERE.parents[1] / "shared" / "data" / "mobile-ml-benchmark"
PROFILES = [f"phone/{p}/gpu" for p in ("pixel4", "s10", "mi8se", "a03s", "iphone7", "iphonexs")]


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_import_keeps_every_row_and_every_float_bit_with_its_provenance(leti_cli):
    r = leti_cli("db", "import", str(PHONE_SUBSET))
    assert r.returncode == 0, r.stderr
    db = open_db()
    assert set(PROFILES) <= set(db.device_ids())
    ops = csv_rows(PHONE_SUBSET / KERNELS_FILE)
    for dev in PROFILES:
        phone = dev.split("/")[1]
        stored = db.kernel_times(dev)
        assert len(stored) == len(ops)
        by_key = {(s["model"], s["position"]): s for s in stored}
        seen: dict[str, int] = {}
        for line, row in enumerate(ops, start=2):
            pos = seen.get(row["model"], 0)
            seen[row["model"]] = pos + 1
            s = by_key[(row["model"], pos)]
            assert bits(s["time_us"]) == bits(float(row[f"{phone}|gpu|float"]))
            assert s["kernel"] == row[f"{phone}|gpu|kernel"] and s["operation"] == row["operation"]
            assert (
                s["features"]["Input_channel"] is not None and s["source"] == "mobile-ml-benchmark"
            )
            assert s["provenance"]["line"] == line and s["provenance"]["commit"] == "40ba833"
            assert s["provenance"]["file"] == KERNELS_FILE and len(s["provenance"]["sha256"]) == 64
        fp = db.device(dev)["fingerprint"]
        facts = PHONES[phone]
        assert (fp["phone"], fp["soc"], fp["gpu"]) == (facts.name, facts.soc, facts.gpu)
        assert fp["runtime"] == "TFLite 2.10 GPU delegate" and "fp16" in fp["precision"]
        assert "MIT" in fp["provenance"]["licence"] and "EdgeSys" in fp["provenance"]["citation"]
    e2e = csv_rows(PHONE_SUBSET / MODELS_FILE)
    times = {(t["device_id"], t["model"]): t for t in db.model_times()}
    for row in e2e:
        for col, value in row.items():
            if col.count("|") == 3 and col.endswith("|mean"):
                phone, config, precision, _ = col.split("|")
                dev = f"phone/{phone}/" + ("gpu" if config == "gpu" else f"cpu-{config}")
                dev += "-quant" if precision == "quant" else ""
                t = times[(dev, row["model"])]
                assert bits(t["mean_us"]) == bits(float(value))
                assert bits(t["std_us"]) == bits(float(row[col[:-4] + "std"]))
    assert "phone/pixel4/cpu-1large" in db.device_ids()  # the CPU columns are kept too


def test_reimport_changes_nothing(leti_cli):
    assert leti_cli("db", "import", str(PHONE_SUBSET)).returncode == 0
    db = open_db()
    before = (db.kernel_times("phone/s10/gpu"), db.model_times(), db.device("phone/s10/gpu"))
    r = leti_cli("db", "import", str(PHONE_SUBSET))
    assert r.returncode == 0 and "0 kernel rows and 0 model rows added" in r.stdout
    assert (
        db.kernel_times("phone/s10/gpu"),
        db.model_times(),
        db.device("phone/s10/gpu"),
    ) == before


def _broken(tmp_path: Path, file: str, edit) -> Path:
    """A copy of the fixture with ``edit(rows)`` applied to one file's CSV rows (header first)."""
    folder = tmp_path / "broken"
    shutil.copytree(PHONE_SUBSET, folder)
    path = folder / file
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    edit(rows)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return folder


def _set(row: int, col: int, value: str):
    def edit(rows: list[list[str]]) -> None:
        rows[row][col] = value

    return edit


def _no_a03s(rows: list[list[str]]) -> None:
    for r in rows[1:]:
        r[9] = r[10] = ""  # a03s|gpu|float and a03s|gpu|kernel


BAD_INPUT = {
    "another header": (KERNELS_FILE, _set(0, 0, "net"), "header starts"),
    "a feature that is not a dict": (KERNELS_FILE, _set(5, 2, "[1, 2]"), "not a dict literal"),
    "a non-numeric time": (MODELS_FILE, _set(3, 3, "fast"), "is not a number"),
    "a model the zoo does not know": (
        KERNELS_FILE,
        _set(7, 0, "nosuchnet"),
        "not a model of the imgclsmob zoo",
    ),
    "a phone with no rows": (KERNELS_FILE, _no_a03s, "has a column but no measurement"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_line_exit_2_and_nothing_half_written(case, tmp_path, leti_cli):
    file, edit, words = BAD_INPUT[case]
    folder = _broken(tmp_path, file, edit)
    r = leti_cli("db", "import", str(folder))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert (
        words in r.stderr
        and len(r.stderr.strip().splitlines()) == 1
        and "Traceback" not in r.stderr
    )
    assert str(folder / file) in r.stderr and "nothing was imported" in r.stderr
    db = open_db()
    assert db.time_counts() == {} and not [d for d in db.device_ids() if d.startswith("phone/")]


def test_folders_without_the_files_say_what_is_missing(tmp_path, leti_cli):
    r = leti_cli("db", "import", str(tmp_path))
    assert r.returncode == 2 and "not a mobile-ml-benchmark folder" in r.stderr
    assert KERNELS_FILE in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = leti_cli("db", "import", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "no such file or folder" in r.stderr


def test_the_whole_dataset_imports_with_one_profile_per_phone(leti_cli):
    if not FULL.is_dir():
        pytest.skip("../shared/data/mobile-ml-benchmark is absent (fresh clone)")
    r = leti_cli("db", "import", str(FULL))
    assert r.returncode == 0, r.stderr
    counts = open_db().time_counts()
    assert {d: counts[d]["kernels"] for d in PROFILES} == dict.fromkeys(PROFILES, 3903)
    assert {d: counts[d]["models"] for d in PROFILES} == dict.fromkeys(PROFILES, 85)


# --- the zoo's graphs and the delegate's rules -------------------------------------------------


def subset_rows() -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for r in csv_rows(PHONE_SUBSET / KERNELS_FILE):
        out.setdefault(r["model"], []).append(r)
    return out


def labelled(phone: str) -> list[Labelled]:
    from ast import literal_eval

    out = []
    for name, rows in subset_rows().items():
        g = zoo.graph(name)
        a = align(g, [(r["operation"], literal_eval(r["feature"])) for r in rows])
        out.append(Labelled(g, {i: parse(rows[j][f"{phone}|gpu|kernel"]) for j, i in a.pairs}))
    return out


def test_every_shipped_skeleton_matches_its_published_rows():
    from ast import literal_eval

    for name, rows in subset_rows().items():
        a = align(zoo.graph(name), [(r["operation"], literal_eval(r["feature"])) for r in rows])
        assert a.ok and len(a.pairs) == len(rows), (name, a.problems[:3])


def test_a_rebuilt_zoo_model_matches_its_rows(tmp_path):
    """The documented regeneration command, run as a user runs it (TensorFlow in a process of
    its own), rebuilds a model whose graph matches the published rows."""
    pytest.importorskip("tf2cv", reason="the zoo extra (tf2cv, tf-keras, TensorFlow) is absent")
    import subprocess
    import sys
    import zipfile
    from ast import literal_eval

    from leti.estimator.graph import read_model

    out = tmp_path / "rebuilt.zip"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "leti.estimator.zoo.rebuild",
            "--models",
            "mobilenet_wd4",
            "--jobs",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    with zipfile.ZipFile(out) as z:
        graph = read_model(z.read("mobilenet_wd4@224.tflite"))
    rows = subset_rows()["mobilenet_wd4"]
    a = align(graph, [(r["operation"], literal_eval(r["feature"])) for r in rows])
    assert a.ok and len(a.pairs) == len(rows) == 29, a.problems


def test_fusion_rules_are_recovered_from_the_labels():
    for phone in ("pixel4", "s10"):
        examples = labelled(phone)
        rules = learn(examples)
        # a convolution links its ReLU and the residual ADD it computes last
        assert rules.links_into("convolution_2d", "relu", True, "none")
        assert rules.links_into("convolution_2d", "add", True, "tensor")
        # a squeeze-excitation's broadcast product never runs on the small kernel's grid
        assert not rules.links_into("fully_connected", "mul", False, "tensor")
        # the planner reproduces what the delegate ran, kernel for kernel
        agree = total = 0
        for ex in examples:
            first = {}
            for k in plan(ex.graph, rules):
                for i in k.primary:
                    first.setdefault(i, k)
            for i, lab in ex.labels.items():
                total += 1
                agree += (first[i].head, tuple(first[i].names)) == (lab.head, lab.linked_names)
        assert agree / total > 0.97, (phone, agree, total)
    # what a 3x3 convolution becomes differs per phone: Winograd on the Mali, direct on Adreno
    g = zoo.graph("resnet10")
    conv = next(
        i
        for i, n in enumerate(g.nodes)
        if n.op == "CONV_2D"
        and n.options.get("kernel_h") == 3
        and n.outputs[0].shape == [1, 56, 56, 64]
    )
    heads = {
        p: {k.head for k in plan(g, learn(labelled(p))) if conv in k.primary}
        for p in ("pixel4", "s10")
    }
    assert heads == {"pixel4": {"convolution_2d"}, "s10": {"convolution_winograd_4x4_6x6", "relu"}}
    # a 1x1 convolution on a 1x1 map (a squeeze-excitation or classifier) is a fully connected
    fc = plan(zoo.graph("mobilenet_wd4"), learn(labelled("pixel4")))[-1]
    assert fc.head == "fully_connected"


def test_labels_parse_in_both_spellings():
    a = parse("depthwise_conv_plus_1x1_conv_3_4_5_linked_:_relu_6")
    assert (a.head, a.ids, a.linked) == ("depthwise_conv_plus_1x1_conv", (3, 4, 5), (("relu", 6),))
    b = parse("convolution_2d 3 -> add 4 -> relu 5")
    c = parse("convolution_2d_3_linked_:_add_4_linked_:_relu_5")
    assert (
        (b.head, b.ids, b.linked)
        == (c.head, c.ids, c.linked)
        == ("convolution_2d", (3,), (("add", 4), ("relu", 5)))
    )
    assert parse("convolution_winograd_4x4_6x6_16").head == "convolution_winograd_4x4_6x6"


# --- training, estimating and scoring a phone ------------------------------------------------


def test_grouped_cross_validation_never_shares_a_family(monkeypatch):
    from leti.estimator.services import kernel_train

    db = open_db()
    from leti.estimator.services.published import import_dataset

    import_dataset(db, PHONE_SUBSET)
    keep = {"mobilenet", "fdmobilenet", "squeezenet", "resnet"}  # 7 models: a quick run
    models = [m for m in kernel_train.profiled_models(db, "phone/mi8se/gpu") if m.family in keep]
    fitted_on: list[set[str]] = []
    real = kernel_train._fold_fit

    def spy(ms):
        fitted_on.append({m.family for m in ms})
        return real(ms)

    monkeypatch.setattr(kernel_train, "_fold_fit", spy)
    cv = kernel_train.cross_validate(models)
    families = sorted({m.family for m in models})
    assert len(fitted_on) == len(families) == cv["families"]
    for fam, seen in zip(families, fitted_on, strict=True):
        assert fam not in seen and seen == set(families) - {fam}
    assert {m["model"] for m in cv["models"]} == {m.name for m in models}


def test_estimate_a_model_on_a_phone_kernel_by_kernel(phone_home, monkeypatch, leti_cli):
    home, report = phone_home
    monkeypatch.setenv("LETI_HOME", str(home))
    assert report["kind"] == "kernels" and report["networks"] == 12
    model = zoo.skeletons_path().parent / "probe.tflite"
    from leti.estimator.graph.skeleton import fill

    path = home / "mobilenetv2_wd4.tflite"
    path.write_bytes(fill(zoo.skeleton("mobilenetv2_wd4")))
    r = leti_cli("estimate", str(path), "--device", "phone/pixel4/gpu", "--format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["device"] == "phone/pixel4/gpu" and out["total_ms"] > 0
    kernels = out["kernels"]
    covered = [key for k in kernels for key in k["nodes"]]
    assert len(covered) == len(set(covered))  # each node in at most one kernel
    by_key = {f"{n['subgraph']}:{n['index']}": n for n in out["nodes"]}
    for k in kernels:  # a kernel is shown once, on its first node; the nodes it links cost 0
        first, *rest = k["nodes"]
        assert by_key[first]["kernel"] == k["label"] and by_key[first]["ms"] >= k["ms"] - 1e-12
        for key in rest:
            if by_key[key]["source"] == "fused":
                assert by_key[key]["ms"] == 0 and by_key[key]["kernel"] == k["label"]
    total = sum(n["ms"] for n in out["nodes"]) + out["invoke_overhead_ms"]
    assert math.isclose(total, out["total_ms"], rel_tol=0.02)
    assert any(k["head"] == "depthwise_convolution" and k["priced"] for k in kernels)
    table = leti_cli("estimate", str(path), "--device", "phone/pixel4/gpu")
    assert table.returncode == 0 and "delegate kernels" in table.stdout
    assert not model.exists()


def test_evaluate_a_phone_scores_models_left_out_by_family(phone_home, monkeypatch, leti_cli):
    home, report = phone_home
    monkeypatch.setenv("LETI_HOME", str(home))
    r = leti_cli("evaluate", "--device", "phone/pixel4/gpu", "--format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["computed"].startswith("by 'leti train'")  # the same rows: training's own run
    assert out["scores"] == report["evaluation"]["scores"]
    assert set(out["scores"]) == {
        "leti",
        "flops-proportional",
        "sum-of-predicted-kernels-x-median-ratio",
    }
    assert len(out["models"]) == 12 and out["families"] == 9 and 0 <= out["coverage_90"] <= 100
    assert out["truth_spread_pct"] > 0
    text = leti_cli("evaluate", "--device", "phone/pixel4/gpu")
    assert "left out" in text.stdout and "truth's own spread" in text.stdout
    mine = home / "m.tflite"
    mine.write_bytes(zoo.skeleton("mobilenet_wd4"))
    r = leti_cli("evaluate", str(mine), "--device", "phone/pixel4/gpu")
    assert r.returncode == 2 and "published measurements" in r.stderr


def test_a_phone_never_imported_says_how_to_import_it(tf_model, leti_cli):
    for device in ("phone/pixel4/gpu", "phone/iphone7/gpu"):
        r = leti_cli("estimate", str(tf_model("conv")), "--device", device)
        assert r.returncode == 2 and "never imported" in r.stderr and "leti db import" in r.stderr
        r = leti_cli("train", "--device", device)
        assert r.returncode == 2 and "never imported" in r.stderr
    r = leti_cli("estimate", str(tf_model("conv")), "--device", "phone/nokia3310/gpu")
    assert r.returncode == 2 and "no published phone 'nokia3310'" in r.stderr


def test_devices_lists_the_imported_phones(leti_cli):
    assert leti_cli("db", "import", str(PHONE_SUBSET)).returncode == 0
    rows = {d["device"]: d for d in json.loads(leti_cli("devices", "--format", "json").stdout)}
    for dev in PROFILES:
        assert rows[dev]["state"] == "imported" and "12 models" in rows[dev]["description"]
    assert "Adreno 640" in rows["phone/pixel4/gpu"]["description"]
