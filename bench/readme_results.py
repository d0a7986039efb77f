"""Write bench/results/*.md into the README's Results section (between the markers).

python bench/readme_results.py
"""

from __future__ import annotations

from common import RESULTS, ROOT

START, END = "<!-- results:start -->", "<!-- results:end -->"
ORDER = ["accuracy", "speed", "viewer", "build"]


def render() -> str:
    parts = []
    for name in ORDER:
        path = RESULTS / f"{name}.md"
        if path.exists():
            parts.append(path.read_text().strip())
        if name == "accuracy" and (RESULTS / "accuracy_scatter.png").exists():
            parts.append(
                "![predicted vs measured, ±10% band](bench/results/accuracy_scatter.png) "
                "![cross-validated error by op type](bench/results/error_by_op.png)"
            )
    return "\n\n".join(parts)


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{render()}\n{END}{tail}")
    print(f"updated {readme}")


if __name__ == "__main__":
    main()
