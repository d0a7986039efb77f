"""The imgclsmob model zoo (``tf2cv`` on PyPI) as weight-free skeletons shipped with the package.

The published phone measurements (mobile-ml-benchmark) and the host's real-architecture corpus
time models of this zoo. Training and estimating need their graphs, not TensorFlow: each model
was rebuilt once (``python -m leti.estimator.zoo.rebuild``, which needs the ``zoo`` extra) and
kept as its skeleton (:mod:`..graph.skeleton`: the flatbuffer with its large weight buffers
zeroed), all of them in one zip file beside this module.

A model's **family** is the zoo module that defines it (``tf2cv.models.<module>``): ResNet-10
and ResNet-18 are one family, SE-ResNet another. Cross-validation groups by it, so a family is
never on both sides.
"""

from __future__ import annotations

import json
import zipfile
from functools import cache
from importlib import resources
from pathlib import Path

from ..errors import LetiError

ZOO = "imgclsmob (tf2cv 0.0.18)"
SKELETONS = "skeletons.zip"
DEFAULT_SIZE = 224


def _here() -> Path:
    return Path(str(resources.files(__package__)))


@cache
def names() -> dict[str, str]:
    """Every model name the zoo knows, with its family (the module that defines it)."""
    return json.loads((_here() / "names.json").read_text("utf-8"))["models"]


def known(name: str) -> bool:
    return name in names()


def family(name: str) -> str:
    try:
        return names()[name]
    except KeyError:
        raise LetiError(
            f"{name!r} is not a model of the {ZOO} zoo",
            "check the spelling; 'python -m leti.estimator.zoo.rebuild --list' lists them",
        ) from None


def member(name: str, size: int = DEFAULT_SIZE) -> str:
    """The skeleton's name inside the zip file."""
    return f"{name}@{size}.tflite"


def skeletons_path() -> Path:
    return _here() / SKELETONS


@cache
def _index() -> frozenset[str]:
    path = skeletons_path()
    if not path.exists():
        return frozenset()
    with zipfile.ZipFile(path) as z:
        return frozenset(z.namelist())


def shipped(size: int | None = None) -> list[tuple[str, int]]:
    """(name, input size) of every skeleton shipped, optionally of one input size."""
    out = []
    for m in sorted(_index()):
        name, _, rest = m.partition("@")
        s = int(rest.removesuffix(".tflite"))
        if size is None or s == size:
            out.append((name, s))
    return out


def has_skeleton(name: str, size: int = DEFAULT_SIZE) -> bool:
    return member(name, size) in _index()


def skeleton(name: str, size: int = DEFAULT_SIZE) -> bytes:
    """The model's flatbuffer with its weights zeroed (the graph reader reads it as is)."""
    if not has_skeleton(name, size):
        family(name)  # an unknown name says so first
        raise LetiError(
            f"no skeleton of {name} at {size}x{size} is shipped",
            "regenerate the skeletons with 'python -m leti.estimator.zoo.rebuild "
            f"--models {name} --sizes {size}' (needs pip install 'leti-view[zoo]')",
        )
    with zipfile.ZipFile(skeletons_path()) as z:
        return z.read(member(name, size))


def graph(name: str, size: int = DEFAULT_SIZE):
    """The model's parsed graph (:class:`~..graph.ModelGraph`), named ``name``."""
    from ..graph import read_model

    return read_model(skeleton(name, size), name=name)
