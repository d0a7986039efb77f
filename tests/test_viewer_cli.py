"""The leti-view command as a user runs it: URL printed, page served neutralised, Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request

from conftest import stop
from leti.server.cli import is_loopback

VIEW = [sys.executable, "-m", "leti.server.cli"]


def start(*args):
    proc = subprocess.Popen([*VIEW, *args, "--no-browser"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    line = proc.stdout.readline()
    m = re.search(r"(http://\S+)", line)
    assert m, (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, m.group(1)


def test_serves_neutralised_netron_and_stops_on_ctrl_c(tf_model):
    proc, url = start(str(tf_model("conv")), "--port", "0")
    try:
        assert url.startswith("http://127.0.0.1:") and "/m/" in url
        with urllib.request.urlopen(url) as r:
            page = r.read().decode()
            csp = r.headers["Content-Security-Policy"]
            cookie = r.headers["Set-Cookie"]
        assert "connect-src 'self'" in csp
        assert '<meta name="version" content="0.0.0">' in page  # analytics off
        assert '<meta name="file" content="model.tflite">' in page
        assert "/leti-static/overlay.js" in page and cookie.startswith("consent=")
        date = re.search(r'<meta name="date" content="(\d{4})', page).group(1)
        assert int(date) >= time.gmtime().tm_year  # the age lock never triggers
        with urllib.request.urlopen(url + "index.js") as r:
            assert r.headers["Content-Type"].startswith("text/javascript")
        with urllib.request.urlopen(url + "model.tflite?cb=123") as r:
            assert r.read() == tf_model("conv").read_bytes()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    assert "stopped" in proc.stderr.read()


def test_bad_model_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "x.tflite"
    bad.write_bytes(b"not a model at all")
    r = subprocess.run([*VIEW, str(bad), "--no-browser"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "not a TFLite model" in r.stderr
    r = subprocess.run([*VIEW, "--no-browser"], capture_output=True, text=True)
    assert r.returncode == 2 and "--demo" in r.stderr


def test_warns_when_bound_beyond_loopback(tf_model):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    proc, url = start(str(tf_model("conv")), "--host", "0.0.0.0", "--port", "0")
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=20)
    assert "warning: listening on 0.0.0.0" in proc.stderr.read()


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_stops_on_sigint_even_when_started_with_it_ignored(tf_model):
    """A shell starts background jobs with SIGINT ignored; Python then installs no handler of
    its own, and before the fix ``kill -INT`` never stopped the viewer."""
    proc = subprocess.Popen([*VIEW, str(tf_model("conv")), "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ignore_sigint)  # fmt: skip
    try:
        assert "http://" in proc.stdout.readline()
        rc = stop(proc, signal.SIGINT, timeout=20)
        err = proc.stderr.read()
        assert rc == 0 and "Traceback" not in err, err
    finally:
        proc.kill()
        proc.wait()


def test_sigint_or_sigterm_at_once_after_the_url_stop_without_a_traceback(tf_model):
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen(
            [*VIEW, str(tf_model("conv")), "--no-browser"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert "http://" in proc.stdout.readline()
            rc = stop(proc, sig, timeout=20)  # while the warm-up thread and the server start
            err = proc.stderr.read()
            assert rc == 0 and "Traceback" not in err and "stopped" in err, (sig, rc, err)
        finally:
            proc.kill()
            proc.wait()
