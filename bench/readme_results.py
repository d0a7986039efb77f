"""Write bench/results/*.md into docs/results.md, and the six-phone table into the README's
summary (each between its markers): the figures a reader sees come from the scripts.

python bench/readme_results.py
"""

from __future__ import annotations

from common import RESULTS, ROOT

START, END = "<!-- results:start -->", "<!-- results:end -->"
ORDER = ["phones", "accuracy", "speed", "viewer", "build"]


def render() -> str:
    parts = []
    for name in ORDER:
        path = RESULTS / f"{name}.md"
        if path.exists():
            parts.append(path.read_text().strip())
        if name == "accuracy" and (RESULTS / "accuracy_scatter.png").exists():
            parts.append(
                "![predicted vs measured, ±10% band](../bench/results/accuracy_scatter.png) "
                "![cross-validated error by op type](../bench/results/error_by_op.png)"
            )
    return "\n\n".join(parts)


def summary() -> str:
    """The README's part: the phone table with its machine line, and where the rest is."""
    path = RESULTS / "phones.md"
    if not path.exists():
        return "No phone figures yet: run `python3 bench/phones.py`."
    text = path.read_text().strip()
    head, _, rest = text.partition("\n\n")
    table = [line for line in rest.splitlines() if line.startswith("|")]
    return "\n".join([head, "", *table])


def splice(path, text: str) -> None:
    body = path.read_text()
    head, rest = body.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{text}\n{END}{tail}")
    print(f"updated {path}")


def main() -> None:
    splice(ROOT / "docs" / "results.md", render())
    splice(ROOT / "README.md", summary())


if __name__ == "__main__":
    main()
