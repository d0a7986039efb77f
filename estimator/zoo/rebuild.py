"""Regenerate the zoo's skeletons: ``python -m leti.estimator.zoo.rebuild``.

Needs the ``zoo`` extra (``pip install 'leti-view[zoo]'``: TensorFlow, ``tf2cv`` and
``tf-keras``); nothing else in leti-view does. Each model is built with
``tf2cv.model_provider.get_model(name, pretrained=False, data_format="channels_last")`` under
``TF_USE_LEGACY_KERAS=1``, called once on a 1xSxSx3 input, and converted with
``TFLiteConverter.from_concrete_functions``; its skeleton (weights zeroed) goes into the zip
file the package ships. Two changes make the graphs those of the published models:

- tf2cv 0.0.18 builds a grouped convolution as SPLIT + one CONV_2D per group + CONCATENATION;
  the published models have one grouped kernel, which Keras's ``Conv2D(groups=...)`` gives;
- an untrained batch normalisation (scale 1, shift 0) lets the converter drop its ADD of zeros;
  trained networks keep it, so every batch normalisation gets random statistics first;
- the zoo's networks end in a 7x7 average pooling made for 224-pixel inputs; at another size
  that "final_pool" pools the whole map it is given (what the network means), and the model
  is asked for ``in_size`` where it takes one.

Models are built in worker processes (``--jobs``), each result kept as soon as it is made, so
an interrupted run resumes where it stopped. ``--dataset DIR`` builds every model a
mobile-ml-benchmark folder names and checks each graph against its kernel rows
(:mod:`..kernels.match`), printing every model that does not match and why.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from ..errors import LetiError
from . import known, member, names, skeletons_path

CORPUS = Path(__file__).with_name("corpus.json")


def _patch_grouped_convolutions() -> None:
    """tf2cv's Conv2d with groups > 1 (not depthwise) as one Keras grouped Conv2D."""
    import tf_keras.layers as nn
    from tf2cv.models import common

    original = common.Conv2d.__init__
    if getattr(original, "_leti", False):
        return

    def init(
        self,
        in_channels,
        out_channels,
        kernel_size,
        strides=1,
        padding=0,
        dilation=1,
        groups=1,
        use_bias=True,
        force_same=False,
        data_format="channels_last",
        **kw,
    ):
        depthwise = groups > 1 and groups == out_channels == in_channels
        grouped = groups > 1 and not depthwise
        original(
            self,
            in_channels,
            out_channels,
            kernel_size,
            strides,
            padding,
            dilation,
            1 if grouped else groups,
            use_bias,
            force_same,
            data_format,
            **kw,
        )
        if grouped:
            c = self.conv
            self.conv = nn.Conv2D(
                filters=out_channels,
                kernel_size=c.kernel_size,
                strides=c.strides,
                padding=c.padding,
                data_format=data_format,
                dilation_rate=c.dilation_rate,
                use_bias=use_bias,
                groups=groups,
                name="conv",
            )

    init._leti = True  # type: ignore[attr-defined]
    common.Conv2d.__init__ = init


def _randomise_batch_norms(net, seed: int) -> None:
    import numpy as np
    import tf_keras

    rng = np.random.default_rng(seed)
    for layer in net.submodules:
        if isinstance(layer, tf_keras.layers.BatchNormalization) and layer.weights:
            values = []
            for w in layer.weights:
                shape = tuple(w.shape)
                name = w.name.rsplit("/", 1)[-1]
                if "variance" in name or "gamma" in name:
                    values.append(rng.uniform(0.5, 1.5, shape).astype("float32"))
                else:
                    values.append(rng.normal(0.0, 0.1, shape).astype("float32"))
            layer.set_weights(values)


def _patch_final_pools() -> None:
    """A layer named ``final_pool`` pools its whole input map, whatever the input size."""
    import tensorflow.keras.layers as layers  # the module tf2cv's models name ``nn``

    base = layers.AveragePooling2D
    if getattr(base, "_leti", False):
        return

    class FinalPool(base):  # type: ignore[misc, valid-type]
        _leti = True

        def build(self, input_shape):
            if self.name.endswith("final_pool") and len(input_shape) == 4:
                self.pool_size = (int(input_shape[1]), int(input_shape[2]))
                self.strides = (1, 1)
            super().build(input_shape)

    layers.AveragePooling2D = FinalPool


_READY = False


def _start_worker() -> None:
    global _READY
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np

    if not hasattr(np, "int"):  # tf2cv's RegNets use np.int, which numpy 1.24 removed
        np.int = int  # type: ignore[attr-defined]
    import tensorflow as tf

    try:  # one thread a worker: --jobs says how many cores are used
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already running in this process: keep its threads
        pass
    _patch_grouped_convolutions()
    _patch_final_pools()
    _READY = True


def build(name: str, size: int) -> bytes:
    """The model converted to .tflite at a 1 x size x size x 3 input, weights random."""
    if not _READY:
        _start_worker()
    import tensorflow as tf
    from tf2cv.model_provider import get_model

    try:
        net = get_model(name, pretrained=False, data_format="channels_last", in_size=(size, size))
    except (TypeError, AssertionError):  # no in_size argument, or only its native one
        net = get_model(name, pretrained=False, data_format="channels_last")
    net(tf.zeros((1, size, size, 3)), training=False)
    _randomise_batch_norms(net, seed=sum(map(ord, name)) + size)
    spec = tf.TensorSpec((1, size, size, 3), tf.float32)
    fn = tf.function(lambda x: net(x, training=False)).get_concrete_function(spec)
    return tf.lite.TFLiteConverter.from_concrete_functions([fn], net).convert()


def _build_one(name: str, size: int, parts: str) -> dict:
    from ..graph.skeleton import skeleton

    start = time.time()
    try:
        data = build(name, size)
    except Exception as exc:  # a model the converter cannot take is reported, not fatal
        return {"name": name, "size": size, "error": f"{type(exc).__name__}: {exc}"[:400]}
    out = Path(parts) / member(name, size)
    out.with_suffix(".part").write_bytes(skeleton(data, compress=False))
    out.with_suffix(".part").replace(out)
    return {"name": name, "size": size, "bytes": len(data), "seconds": time.time() - start}


def pack(parts: Path, out: Path) -> int:
    """Write every skeleton of ``parts`` (and those of ``out`` not rebuilt) into ``out``."""
    members: dict[str, bytes] = {}
    if out.exists():
        with zipfile.ZipFile(out) as z:
            members = {m: z.read(m) for m in z.namelist()}
    for f in sorted(parts.glob("*.tflite")):
        members[f.name] = f.read_bytes()
    tmp = out.with_suffix(".zip.part")
    # LZMA: a skeleton is mostly zero runs, which deflate caps at ~1000:1 (a 32 MB DenseNet
    # skeleton: 98 KB deflated, 60 KB LZMA, and decompressed faster)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_LZMA) as z:
        for m in sorted(members):
            info = zipfile.ZipInfo(m, date_time=(2026, 1, 1, 0, 0, 0))  # reproducible bytes
            info.compress_type = zipfile.ZIP_LZMA
            z.writestr(info, members[m])
    tmp.replace(out)
    return len(members)


def wanted(args: argparse.Namespace) -> list[str]:
    chosen: list[str] = list(args.models or [])
    if args.dataset:
        from ..devices.published import read_dataset

        chosen += read_dataset(Path(args.dataset)).model_names()
    if args.corpus:
        chosen += json.loads(CORPUS.read_text())["models"]
    unknown = [n for n in chosen if not known(n)]
    if unknown:
        raise LetiError(f"not models of the zoo: {', '.join(unknown)}", "see --list")
    return list(dict.fromkeys(chosen))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m leti.estimator.zoo.rebuild", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--models", nargs="+", metavar="NAME", help="zoo model names")
    p.add_argument(
        "--dataset", metavar="DIR", help="every model a mobile-ml-benchmark folder names"
    )
    p.add_argument("--corpus", action="store_true", help="the host's real-architecture corpus")
    p.add_argument(
        "--sizes",
        nargs="+",
        type=int,
        default=None,
        metavar="S",
        help="input sizes (default: 224; the corpus's own sizes with --corpus)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="models built at once (default: one per CPU)",
    )
    p.add_argument("--out", type=Path, default=None, help="zip file (default: the package's)")
    p.add_argument("--force", action="store_true", help="rebuild skeletons already there")
    p.add_argument("--list", action="store_true", help="print the zoo's model names and exit")
    args = p.parse_args(argv)
    try:
        return run(args)
    except LetiError as exc:
        print(f"rebuild: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "rebuild: interrupted; skeletons made so far are kept, rerun to resume", file=sys.stderr
        )
        return 130


def run(args: argparse.Namespace) -> int:
    if args.list:
        for n, fam in sorted(names().items()):
            print(f"{n}\t{fam}")
        return 0
    models = wanted(args)
    if args.sizes is None:
        args.sizes = json.loads(CORPUS.read_text())["sizes"] if args.corpus else [224]
    if not models:
        raise LetiError("no models named", "pass --models, --dataset DIR or --corpus")
    out = args.out or skeletons_path()
    parts = out.with_suffix(".parts")
    parts.mkdir(parents=True, exist_ok=True)
    have = set()
    if out.exists() and not args.force:
        with zipfile.ZipFile(out) as z:
            have = set(z.namelist())
    have |= {f.name for f in parts.glob("*.tflite")} if not args.force else set()
    todo = [(n, s) for n in models for s in args.sizes if member(n, s) not in have]
    print(
        f"{len(todo)} to build ({len(models) * len(args.sizes) - len(todo)} already there), "
        f"{args.jobs} at a time",
        file=sys.stderr,
    )
    failed = []
    with ProcessPoolExecutor(args.jobs, initializer=_start_worker) as pool:
        futures = [pool.submit(_build_one, n, s, str(parts)) for n, s in todo]
        for i, f in enumerate(as_completed(futures), 1):
            r = f.result()
            if "error" in r:
                failed.append(r)
                print(
                    f"[{i}/{len(todo)}] {r['name']}@{r['size']}: FAILED {r['error']}",
                    file=sys.stderr,
                )
            else:
                print(
                    f"[{i}/{len(todo)}] {r['name']}@{r['size']}: {r['bytes'] / 1e6:.1f} MB "
                    f"in {r['seconds']:.0f} s",
                    file=sys.stderr,
                )
    n = pack(parts, out)
    for f in parts.glob("*.tflite"):
        f.unlink()
    parts.rmdir()
    print(f"{out}: {n} skeletons", file=sys.stderr)
    status = 0
    if args.dataset:
        from ..kernels.match import report_dataset

        status = report_dataset(Path(args.dataset), out)
    return 1 if failed else status


if __name__ == "__main__":
    sys.exit(main())
