"""Writes :mod:`.schema_tables` from the ``tflite`` package's generated classes, so the reader
takes enum names and field numbers from the schema by name and never imports the package:

    python -m leti.estimator.graph.schema_gen > estimator/graph/schema_tables.py

Each getter of a generated table class says its field's number (``Offset(4 + 2 * n)``), its
type (the ``...Flags`` it reads, a string, a vector, a table or a union) and its default (the
value it returns when the field is absent); ``tests/test_columns.py`` checks that the tables
written here are the module as it stands.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from typing import Any

# The tables the reader reads: the model's structure and every builtin operator's options.
STRUCTURE = (
    "Model",
    "OperatorCode",
    "SubGraph",
    "Tensor",
    "Operator",
    "Buffer",
    "QuantizationParameters",
    "SparsityParameters",
)
_SCALARS = {f: f.lower() for f in ("Bool", "Int8", "Int16", "Int32", "Int64", "Float32", "Float64")}
_SCALARS.update({f"Uint{n}": f"uint{n}" for n in (8, 16, 32, 64)})
_SKIP = ("AsNumpy", "Length", "IsNone", "BufferHasIdentifier")


def snake(name: str) -> str:
    """A getter's name as the reader names the field (``DilationHFactor`` →
    ``dilation_h_factor``)."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _enum(cls: type) -> tuple[str, ...]:
    codes = {v: k for k, v in vars(cls).items() if not k.startswith("_")}
    return tuple(codes.get(i, f"UNKNOWN_{i}") for i in range(max(codes) + 1))


def _field(getter: Any) -> tuple[int, tuple[str, str, Any]]:
    """(field number, (name, type, default)) of one generated getter."""
    src = textwrap.dedent(inspect.getsource(getter))
    slot = (int(re.search(r"Offset\((\d+)\)", src).group(1)) - 4) // 2  # type: ignore[union-attr]
    vector = "j" in inspect.signature(getter).parameters
    flags = [f for f in re.findall(r"number_types\.(\w+)Flags", src) if f != "UOffsetT"]
    if "self._tab.Union" in src:
        kind = "union"
    elif "String(" in src:
        kind = "string"
    elif "Indirect" in src:
        kind = "table"
    else:
        kind = _SCALARS[flags[0]]
    default = None
    if not vector and kind in _SCALARS.values():
        # the function's own last statement returns the default; BuiltinCode, which falls
        # back to the deprecated code, ends in an if: its schema default is 0 (ADD)
        last = ast.parse(src).body[0].body[-1]  # type: ignore[attr-defined]
        default = ast.literal_eval(last.value) if isinstance(last, ast.Return) else 0
    return slot, (snake(getter.__name__), f"[{kind}]" if vector else kind, default)


def layout(cls: type) -> tuple[tuple[str, str, Any] | None, ...]:
    """A table's fields by number; None where the schema retired a number."""
    getters = [
        f
        for n, f in vars(cls).items()
        if n[:1].isupper() and callable(f) and n != "Init" and not n.startswith(("GetRootAs",))
        if not n.endswith(_SKIP)
    ]
    got = dict(_field(f) for f in getters)
    return tuple(got.get(i) for i in range(max(got, default=-1) + 1))


def _words(name: str, words: tuple[str, ...]) -> str:
    text = ", ".join(f'"{w}"' for w in words) + ","
    body = textwrap.fill(text, 96, break_on_hyphens=False, break_long_words=False)
    return f"{name} = (\n{textwrap.indent(body, '    ')}\n)\n"


def render() -> str:
    import tflite

    enums = {
        "BUILTIN_OPERATORS": _enum(tflite.BuiltinOperator),
        "BUILTIN_OPTIONS": _enum(tflite.BuiltinOptions),
        "TENSOR_TYPES": _enum(tflite.TensorType),
        "ACTIVATIONS": _enum(tflite.ActivationFunctionType),
        "PADDINGS": _enum(tflite.Padding),
    }
    out = [HEADER, "# fmt: off"]
    out += [_words(k, v) for k, v in enums.items()]
    out.append("TABLES: dict[str, tuple[tuple[str, str, Any] | None, ...]] = {")
    names = [*STRUCTURE, *(o for o in enums["BUILTIN_OPTIONS"][1:] if hasattr(tflite, o))]
    for name in names:
        fields = layout(getattr(tflite, name))
        out.append(f'    "{name}": (')
        out += [f"        {f!r}," for f in fields]
        out.append("    ),")
    out += ["}", "# fmt: on", ""]
    return "\n".join(out)


HEADER = '''"""TFLite's schema (version 3) as data: enum names indexed by their codes, and each
table's fields by field number, so the reader names the fields it reads and takes their
defaults from the schema. Written by ``python -m leti.estimator.graph.schema_gen`` from the
``tflite`` package's generated classes (``tests/test_columns.py`` checks it is current); the
reader never imports that package.

A field is ``(name, type, default)``: ``type`` is a scalar type (``"int8"``, ``"int32"``,
``"float32"``, ``"bool"``...), ``"string"``, ``"table"``, ``"union"``, or one of those in
brackets for a vector; ``default`` is what an absent scalar reads as. ``None`` marks a field
number the schema retired.
"""

from __future__ import annotations

from typing import Any
'''


if __name__ == "__main__":
    print(render(), end="")
