"""The viewer in a real browser (headless Debian Chromium driven by Playwright)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from browser import ARTIFACTS, browser_page, live_server
from leti.estimator.db import open_db
from leti.estimator.graph import read_model
from leti.server.app import ViewerState

pytestmark = pytest.mark.browser


def make_state(path, **kw) -> ViewerState:
    state = ViewerState(**kw)
    state.add_model(path.read_bytes(), path.name)
    return state


def open_graph(page, base, state):
    page.goto(f"{base}/m/{state.initial}/")
    try:
        page.wait_for_selector("body[data-leti-drawn-at]", timeout=90000)
    except Exception:
        fatal = page.locator("#leti-fatal")
        detail = fatal.inner_text() if fatal.count() else "no error shown"
        raise AssertionError(f"badges never drawn: {detail}; page errors {page.errors}") from None


def texts(locator):
    """Inner texts one by one (all_inner_texts evaluates a string, which Netron's page forbids)."""
    return [locator.nth(i).text_content() or "" for i in range(locator.count())]


def zoo_model(home, name: str):
    """A zoo model's skeleton filled with weights, written into ``home``: what the viewer opens."""
    from leti.estimator import zoo
    from leti.estimator.graph.skeleton import fill

    path = home / f"{name}.tflite"
    path.write_bytes(fill(zoo.skeleton(name)))
    return path


def compare_with(page, device: str) -> list[str]:
    """Compare mode against ``device``: the badges' texts once they show ratios."""
    page.select_option("#leti-compare", device)
    first = page.locator("g.leti-badge text").first
    for _ in range(300):  # the page forbids eval, so no wait_for_function: poll
        if (first.text_content() or "")[:1] in ("×", "–"):
            break
        page.wait_for_timeout(100)
    return texts(page.locator("g.leti-badge text"))


def outside(page, base):
    return [u for u in page.requests if not u.startswith(base) and not u.startswith("data:")]


def post(url, body, token):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-CSRF-Token", token)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_badges_tooltip_redraw_and_privacy(trained_home, monkeypatch, tf_model):
    monkeypatch.setenv("LETI_HOME", str(trained_home))
    path = tf_model("small_net")
    ops = len(read_model(path).nodes)
    state = make_state(path)
    with live_server(state) as base, browser_page() as page:
        open_graph(page, base, state)
        assert page.locator("g.leti-badge").count() == ops
        assert page.get_attribute("body", "data-leti-badges") == str(ops)
        # badges read as a person writes latencies: 2-3 digits, µs below a millisecond
        for text in texts(page.locator("g.leti-badge text")):
            assert re.fullmatch(r"free|[0-9]+(\.[0-9]+)? (ms|µs)", text), text
        legend = page.locator("#leti-legend").inner_text()
        assert "e-" not in legend and re.search(r"(ms|µs)", legend)
        # hover a node: the tooltip names the op and gives a number in ms
        page.locator("g.node:has(g.leti-badge)").first.hover()
        tip = page.locator("#leti-tooltip")
        tip.wait_for(state="visible")
        assert re.search(r"predicted: [0-9.]+ (ms|µs)", tip.inner_text())
        assert "source: learned" in tip.inner_text()
        # the panel: total, slowest nodes, roll-up
        assert re.match(r"[0-9.]+ (ms|µs)$", page.locator("#leti-total").inner_text())
        assert page.locator("tr.leti-slow-row").count() == min(10, ops)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "graph-view.png"))
        # redraw (Netron's "show attributes" toggle rebuilds the SVG): badges come back
        before = page.locator("#canvas").bounding_box()
        page.keyboard.press("Control+d")  # Netron's accelerator for Show Attributes
        for _ in range(100):
            box = page.locator("#canvas").bounding_box()
            if box and before and box["height"] != before["height"]:
                break
            page.wait_for_timeout(50)
        assert page.locator("#canvas").bounding_box()["height"] != before["height"]
        page.wait_for_timeout(300)
        assert page.locator("g.leti-badge").count() == ops
        # a click on a slowest-node row focuses it without errors
        page.locator("tr.leti-slow-row").first.click()
        # export links answer with data
        csv = page.request.get(f"{base}/api/export/{state.initial}.csv").text()
        assert (
            csv.splitlines()[0].startswith("subgraph,index,op,ms")
            and len(csv.splitlines()) == ops + 1
        )
        assert page.errors == []
        assert outside(page, base) == []


def test_real_model_badges(trained_home, monkeypatch, shared_models):
    monkeypatch.setenv("LETI_HOME", str(trained_home))
    state = make_state(shared_models / "face_landmark.tflite")
    with live_server(state) as base, browser_page() as page:
        open_graph(page, base, state)
        assert page.locator("g.leti-badge").count() == 97
        assert outside(page, base) == []


def test_bad_upload_shows_error_and_good_upload_opens(
    trained_home, monkeypatch, tf_model, tmp_path
):
    monkeypatch.setenv("LETI_HOME", str(trained_home))
    state = make_state(tf_model("conv"))
    bad = tmp_path / "picture.tflite"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    with live_server(state) as base, browser_page() as page:
        open_graph(page, base, state)
        page.set_input_files("#leti-open", str(bad))
        msg = page.locator("#leti-message")
        msg.wait_for(state="visible")
        assert "cannot open picture.tflite" in msg.inner_text()
        assert "not a TFLite model" in msg.inner_text()
        first = page.url  # the conv model's page: its URL matches the pattern too
        page.set_input_files("#leti-open", str(tf_model("fp16_conv")))
        page.wait_for_url(lambda url: url != first and re.match(r".*/m/[0-9a-f]{16}/$", url))
        page.wait_for_selector("body[data-leti-drawn-at]", timeout=60000)
        ops = len(read_model(tf_model("fp16_conv")).nodes)
        assert page.locator("g.leti-badge").count() == ops
        assert page.locator("g.leti-free").count() >= 1  # the fp16 DEQUANTIZE nodes
        assert outside(page, base) == []


def test_measure_now_shows_measured_next_to_predicted(
    trained_home, tmp_path, monkeypatch, tf_model
):
    import shutil

    home = tmp_path / "measure"  # a copy: other tests record measurements in trained_home
    shutil.copytree(trained_home, home)
    monkeypatch.setenv("LETI_HOME", str(home))
    state = make_state(tf_model("depthwise"))  # measured end to end by no other test
    with live_server(state) as base, browser_page() as page:
        open_graph(page, base, state)
        assert page.locator("#leti-measured").inner_text() == ""
        page.click("#leti-measure")
        measured = page.locator("#leti-measured")
        for _ in range(600):
            if "measured:" in measured.inner_text():
                break
            page.wait_for_timeout(100)
        assert re.match(r"measured: [0-9.]+ (ms|µs) \([+-]?[0-9.]+% off\)", measured.inner_text())
        rows = open_db().model_measurements(kind="user")
        assert "depthwise.tflite" in [r["name"] for r in rows]
        assert outside(page, base) == []


def test_compare_mode_shows_per_node_ratios(trained_home, tmp_path, monkeypatch, tf_model):
    import shutil
    import subprocess
    import sys

    home = tmp_path / "two_profiles"
    shutil.copytree(trained_home, home)
    monkeypatch.setenv("LETI_HOME", str(home))
    cli = [sys.executable, "-m", "leti.estimator.cli"]
    for args in (["db", "build", "--suite", "smoke", "--threads", "2", "--no-progress"],
                 ["train", "--threads", "2"]):  # fmt: skip
        r = subprocess.run([*cli, *args], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-1000:]
    path = tf_model("small_net")
    ops = len(read_model(path).nodes)
    state = make_state(path)
    with live_server(state) as base, browser_page() as page:
        open_graph(page, base, state)
        other = [o for o in texts(page.locator("#leti-compare option")) if "/t2" in o]
        assert other, "the second trained profile is offered for comparison"
        page.select_option("#leti-compare", other[0])
        for _ in range(100):
            badges = texts(page.locator("g.leti-badge text"))
            if badges and all(t.startswith("×") for t in badges):
                break
            page.wait_for_timeout(100)
        badges = texts(page.locator("g.leti-badge text"))
        assert len(badges) == ops and all(re.match(r"×[0-9.]+$", t) for t in badges)
        assert "×4 slower" in page.locator("#leti-legend").inner_text()
        assert outside(page, base) == []


def test_state_changes_need_csrf_and_uploads_are_capped(trained_home, monkeypatch, tf_model):
    monkeypatch.setenv("LETI_HOME", str(trained_home))
    state = make_state(tf_model("conv"), max_upload_mb=1)
    with live_server(state) as base:
        code, body = post(f"{base}/api/jobs", {"kind": "retrain"}, token=None)
        assert code == 403 and "CSRF" in body["error"]
        big = b"x" * (2 * 1024 * 1024)
        req = urllib.request.Request(f"{base}/api/models", data=big, method="POST")
        req.add_header("X-CSRF-Token", state.csrf)
        req.add_header("Content-Type", "multipart/form-data; boundary=x")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req)
        assert err.value.code == 413 and "upload limit" in json.loads(err.value.read())["error"]
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/m/ffffffffffffffff/model.tflite")
        assert err.value.code == 404
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/m/{state.initial}/..%2F..%2Fetc%2Fpasswd")
        assert err.value.code == 404


def test_settings_rebuild_progress_and_single_job(tmp_path, monkeypatch, tf_model):
    monkeypatch.setenv("LETI_HOME", str(tmp_path))
    state = make_state(tf_model("conv"))
    with live_server(state) as base, browser_page() as page:
        page.goto(f"{base}/settings")
        page.wait_for_selector("#job-device option[value=host]", state="attached")
        before = len(open_db().measurements())
        page.select_option("#job-suite", "smoke")
        page.click("#rebuild-button")
        status = page.locator("#job-status")
        status.wait_for(state="visible")
        seen = set()
        for _ in range(600):
            if status.get_attribute("data-state") == "running":
                seen.add(status.get_attribute("data-done"))
                if len(seen) == 3:
                    break
            page.wait_for_timeout(100)
        assert len(seen) >= 2, "no live progress updates"
        # a second job is refused while one runs
        code, body = post(f"{base}/api/jobs", {"kind": "rebuild", "suite": "smoke"}, state.csrf)
        assert code == 409 and "already running" in body["error"]
        # a reload re-attaches to the running job
        page.reload()
        page.locator("#job-status").wait_for(state="visible")
        for _ in range(1200):
            if page.locator("#job-status").get_attribute("data-state") == "done":
                break
            page.wait_for_timeout(100)
        assert page.locator("#job-status").get_attribute("data-state") == "done"
        assert len(open_db().measurements()) > before + 30
        page.wait_for_timeout(1000)
        assert int(page.locator("#db-summary").get_attribute("data-count")) > 30
        assert outside(page, base) == []


def test_first_run_is_uncalibrated_then_calibrates(tmp_path, monkeypatch, tf_model):
    monkeypatch.setenv("LETI_HOME", str(tmp_path))
    path = tf_model("conv_small")
    state = make_state(path)
    with live_server(state) as base, browser_page() as page:
        open_graph(page, base, state)
        assert page.locator("#leti-banner").is_visible()
        assert page.locator("g.leti-analytic").count() == len(read_model(path).nodes)
        page.locator("g.node:has(g.leti-badge)").first.hover()
        tip = page.locator("#leti-tooltip")
        tip.wait_for(state="visible")
        assert "uncalibrated" in tip.inner_text() and "never measured" not in tip.inner_text()
        page.click("#leti-calibrate-smoke")
        for _ in range(1800):
            if page.locator("g.leti-learned").count():
                break
            page.wait_for_timeout(100)
        assert page.locator("g.leti-learned").count() == len(read_model(path).nodes)
        assert page.locator("#leti-banner").count() == 0
        assert outside(page, base) == []


def test_a_phone_kernel_by_kernel_and_two_phones_compared(phone_home, monkeypatch):
    """A published phone in the viewer: each node shows the delegate kernel it starts or is
    linked into, the panel lists the slowest kernels once each, and compare mode puts a
    second phone beside it node by node."""
    home, _ = phone_home
    monkeypatch.setenv("LETI_HOME", str(home))
    state = make_state(zoo_model(home, "mobilenetv2_wd4"), device="phone/pixel4/gpu")
    with live_server(state) as base, browser_page() as page:
        open_graph(page, base, state)
        assert "phone/pixel4/gpu" in page.locator("#leti-panel").inner_text()
        kernels = page.locator("#leti-kernels tbody tr")
        assert kernels.count() == 10
        labels = texts(page.locator("#leti-kernels tbody tr td:first-child"))
        assert all(" " in t for t in labels) and len(set(labels)) == len(labels)
        assert "linked" in texts(page.locator("g.leti-badge text"))  # an ADD or activation
        badge = page.locator("g.leti-badge.leti-learned").first
        badge.hover()
        tip = page.locator("#leti-tooltip")
        tip.wait_for(state="visible")
        assert "kernel: " in tip.inner_text()
        ratios = [t for t in compare_with(page, "phone/s10/gpu") if t.startswith("×")]
        assert ratios and all(float(t[1:]) > 0 for t in ratios)
        page.locator("g.leti-badge").nth(0).hover()
        assert "phone/s10/gpu: " in page.locator("#leti-tooltip").inner_text()
        page.screenshot(path=str(ARTIFACTS / "viewer-phone-compare.png"))
        assert outside(page, base) == []


def test_a_phone_cpu_by_transfer_beside_the_same_phones_gpu(trained_home, tmp_path, monkeypatch):
    """A phone's CPU priced by transfer from the host estimator, in the viewer: every node
    badged, a convolution's tooltip says what the host's time was scaled by on the phone, and
    compare mode puts the same phone's GPU beside it node by node."""
    import shutil

    from conftest import PHONE_SUBSET
    from leti.estimator.services.published import import_dataset
    from leti.estimator.services.train import train_and_save

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    monkeypatch.setenv("LETI_HOME", str(home))
    db = open_db()
    import_dataset(db, PHONE_SUBSET)
    train_and_save(db, "phone/pixel4/cpu-1large")
    train_and_save(db, "phone/pixel4/gpu")
    db.engine.dispose()
    path = zoo_model(home, "mobilenetv2_wd4")
    state = make_state(path, device="phone/pixel4/cpu-1large")
    with live_server(state) as base, browser_page() as page:
        open_graph(page, base, state)
        assert "phone/pixel4/cpu-1large" in page.locator("#leti-panel").inner_text()
        said = page.locator("#leti-estimator").inner_text()
        assert "transfer from host/" in said and "each left out by family" in said
        assert page.locator("g.leti-badge").count() == len(read_model(path).nodes)
        conv = page.locator("g.node:has(g.leti-badge.leti-learned)").first
        conv.hover()
        tip = page.locator("#leti-tooltip")
        tip.wait_for(state="visible")
        assert "costs on this phone's CPU" in tip.inner_text() or "own size" in tip.inner_text()
        ratios = [float(t[1:]) for t in compare_with(page, "phone/pixel4/gpu") if t[:1] == "×"]
        # GPU / CPU per node: 0 where the GPU links the node into its producer's kernel
        assert ratios and min(ratios) >= 0 and sum(r > 0 for r in ratios) > len(ratios) // 2
        page.locator("g.leti-badge.leti-learned").first.hover()
        assert "phone/pixel4/gpu: " in page.locator("#leti-tooltip").inner_text()
        page.screenshot(path=str(ARTIFACTS / "viewer-phone-cpu-vs-gpu.png"))
        assert outside(page, base) == []


def test_an_estimate_that_fails_is_shown_on_the_page(tmp_path, monkeypatch, tf_model):
    """A device the estimate API refuses (a phone never imported, here reached past the CLI's
    own refusal): the page says why, with a way to the settings, instead of a bare graph. The
    overlay loads in the page's head, before there is a body to show it in."""
    monkeypatch.setenv("LETI_HOME", str(tmp_path))
    state = make_state(tf_model("conv"), device="phone/pixel4/gpu")
    with live_server(state) as base, browser_page() as page:
        for _ in range(3):  # the error must come out on every load, however early it lands
            page.goto(f"{base}/m/{state.initial}/")
            fatal = page.locator("#leti-fatal")
            fatal.wait_for(state="visible", timeout=30000)
            assert "phone/pixel4/gpu was never imported" in fatal.inner_text()
            assert fatal.locator("a[href='/settings']").count() == 1
        assert not [e for e in page.errors if "appendChild" in e], page.errors


def test_panel_units_and_badges_beside_their_nodes(trained_home, monkeypatch, tf_model):
    monkeypatch.setenv("LETI_HOME", str(trained_home))
    state = make_state(tf_model("small_net"))
    with live_server(state) as base, browser_page() as page:
        open_graph(page, base, state)
        heads = texts(page.locator("#leti-panel th"))
        assert "ms" not in heads and heads.count("latency") == 2  # values are in µs or ms
        nodes = page.locator("#target g.node")
        checked = 0
        for i in range(nodes.count()):
            node = nodes.nth(i)
            badge = node.locator(":scope > g.leti-badge rect")
            if not badge.count():
                continue
            b = badge.bounding_box()
            parts = node.locator(":scope > :not(.leti-badge)")
            boxes = [parts.nth(k).bounding_box() for k in range(parts.count())]
            boxes = [x for x in boxes if x and x["width"] > 0]
            left = min(x["x"] for x in boxes)
            right = max(x["x"] + x["width"] for x in boxes)
            top = min(x["y"] for x in boxes)
            bottom = max(x["y"] + x["height"] for x in boxes)
            # right of the node's box and within its height: clear of the edges, which enter
            # a node at its top centre and leave it at its bottom centre
            assert b["x"] >= right - 1 and left < b["x"], (b, left, right)
            assert b["y"] >= top - 1 and b["y"] + b["height"] <= bottom + 1, (b, top, bottom)
            checked += 1
        assert checked >= 3
