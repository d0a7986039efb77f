"""The real part of the host's default suite: the zoo's real architectures (the corpus of
``estimator/zoo/corpus.json``), each skeleton given random weights and timed whole.

Generated networks are small, so a composition learned from them alone never sees what a
100 MB network does that its layers timed alone do not: stream its weights from memory.
These networks are what users bring. Each is a ``network`` work item: timed end to end and
stored with its skeleton, its family the zoo module that defines it, so training reads it
back with the generated ones and cross-validation keeps a family on one side.
"""

from __future__ import annotations

import json
from typing import Any

from .. import zoo
from .work import Built, WorkItem


def corpus() -> dict[str, Any]:
    return json.loads((zoo.skeletons_path().parent / "corpus.json").read_text())


def real_key(name: str, size: int) -> str:
    return f"zoo-{name}@{size}"


def real_item(name: str, size: int) -> WorkItem:
    family = zoo.family(name)
    spec = {"family": f"zoo:{family}", "source": "zoo", "model": name, "size": size}

    def make() -> Built:
        from ..graph.skeleton import fill

        return Built(fill(zoo.skeleton(name, size), seed=size))

    label = f"{name} at {size} px ({family})"
    return WorkItem(
        real_key(name, size), "network", f"network:zoo:{family}", label, spec, "zoo", make
    )


def real_items(sizes: list[int] | None = None) -> list[WorkItem]:
    """Every corpus model at each of ``sizes`` (default: the corpus's) whose skeleton is
    shipped."""
    c = corpus()
    out = []
    for name in c["models"]:
        for size in c["sizes"] if sizes is None else sizes:
            if zoo.has_skeleton(name, size):
                out.append(real_item(name, size))
    return out


def suite_items(suite: str) -> list[WorkItem]:
    """The real part of a build suite: the corpus at the sizes ``corpus.json`` gives that
    suite (none for ``smoke``, which must stay quick)."""
    sizes = corpus().get("suites", {}).get(suite)
    return real_items(sizes) if sizes else []
