"""The ``leti-view`` command: open a model's graph with latency badges in the browser."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
import threading
import webbrowser
from collections.abc import Sequence
from pathlib import Path

from leti.estimator.errors import LetiError
from leti.estimator.services.devices import (
    DEVICE_HELP,
    PRECISIONS,
    device_arg,
    precision_arg,
    threads_arg,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="leti-view",
        description="Open a TFLite model's graph in the browser with a predicted latency on "
        "every node.",
    )
    p.add_argument("model", nargs="?", help="a .tflite file to open (or --demo)")
    p.add_argument("--demo", action="store_true", help="open a generated MobileNetV2 (no download)")
    p.add_argument(
        "--device", default="host", type=device_arg, help=f"{DEVICE_HELP} (default: host)"
    )
    p.add_argument("--threads", type=threads_arg, default=1, help="host CPU threads (default: 1)")
    p.add_argument(
        "--precision",
        type=precision_arg,
        default=PRECISIONS[0],
        metavar="{" + ",".join(PRECISIONS) + "}",
        help=f"gpu only (default: {PRECISIONS[0]})",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="print the URL, open nothing")
    p.add_argument("--db", help="database URL or SQLite path (default: in LETI_HOME)")
    p.add_argument(
        "--max-upload-mb",
        type=int,
        default=256,
        metavar="MB",
        help="the largest model the page may upload (default: 256)",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="log every request and the runtimes' lines"
    )
    return p


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    from leti.estimator.services.viewer import set_verbose, stop_on_signals

    args = build_parser().parse_args(argv)
    set_verbose(args.verbose)
    stop_on_signals()
    try:
        return serve(args)
    except LetiError as exc:
        print(f"leti-view: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM before the server loop took over
        print("\nleti-view: stopped", file=sys.stderr)
        return 0


def serve(args: argparse.Namespace) -> int:
    from leti.estimator.services.viewer import (
        demo_model,
        open_model,
        start_threads,
    )
    from werkzeug.serving import make_server

    from .app import ViewerState, create_app

    if args.demo:
        path = demo_model()
    elif args.model:
        path = Path(args.model)
    else:
        raise LetiError("no model given", "pass a .tflite file, or --demo for a generated one")
    open_model(path)  # the same one-line errors as 'leti inspect' (missing, empty, truncated...)
    state = ViewerState(
        device=args.device.text,  # checked by its argparse type; a page's choices are texts too
        threads=args.threads,
        precision=args.precision,
        db_url=args.db,
        max_upload_mb=args.max_upload_mb,
    )
    model = state.add_model(path.read_bytes(), path.name)
    state.db()  # a corrupt or read-only database is reported now, not on the first request
    if args.device.kind != "host" or args.device.profile:  # one it cannot estimate is refused
        state.estimator()  # now, as 'leti estimate' refuses it
    if not args.verbose:  # one log line per HTTP request is noise to a user
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(state)
    try:
        server = make_server(args.host, args.port, app, threaded=True)
    except OSError as exc:
        raise LetiError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror})", "choose another --port"
        ) from None
    host = args.host if ":" not in args.host else f"[{args.host}]"
    url = f"http://{host}:{server.server_port}/m/{model.id}/"
    if not is_loopback(args.host):
        print(
            f"leti-view: warning: listening on {args.host}, reachable from other machines; "
            "anyone who can reach it can see your model",
            file=sys.stderr,
        )
    print(f"leti-view: {path.name} ({len(model.graph.nodes)} operators) at {url}", flush=True)
    print("press Ctrl-C to stop", flush=True)
    try:
        # Warm the estimator (or the uncalibrated micro-benchmark) while the browser starts.
        started = threading.Event()  # the warm-up thread lets the signals through after it
        start_threads([threading.Thread(target=_warm, args=(state, started), daemon=True)], started)
        if not args.no_browser:
            webbrowser.open(url)
        server.serve_forever()  # returns on Ctrl-C (werkzeug catches KeyboardInterrupt)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("\nleti-view: stopped", file=sys.stderr)
    return 0


def _warm(state, started: threading.Event) -> None:
    from leti.estimator.services.viewer import let_signals_through

    let_signals_through(started)  # held back at its start: a runtime's child must not inherit
    try:
        state.estimator(state.device)
    except Exception as exc:  # the page reports it on its own request
        print(f"leti-view: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
