"""A column of names (op types, op kinds) as integer codes into its distinct values."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Coded:
    """Names as codes: tests of membership and lookups run once per distinct name (a few
    dozen), not once per node — on object arrays ``np.isin`` sorts strings, ``==`` compares
    every one."""

    codes: np.ndarray
    names: list[str]

    @classmethod
    def of(cls, values: np.ndarray) -> Coded:
        items = values.tolist()
        index = {v: i for i, v in enumerate(dict.fromkeys(items))}
        codes = np.fromiter(map(index.__getitem__, items), np.int64, count=len(items))
        return cls(codes, list(index))

    def isin(self, names: Iterable[str]) -> np.ndarray:
        wanted = set(names)
        return np.array([n in wanted for n in self.names], bool)[self.codes]

    def eq(self, name: str) -> np.ndarray:
        return self.isin((name,))

    def base_op(self) -> list[str]:
        """Each distinct kind's op type ("CONV_2D:INT8" and "CONV_2D:GROUPED" are CONV_2Ds)."""
        return [n.removesuffix(":INT8").removesuffix(":GROUPED") for n in self.names]

    def map(self, f: Callable[[str], Any], dtype: Any = object) -> np.ndarray:
        """``f`` of every node's name, computed once per distinct name."""
        return np.array([f(n) for n in self.names], dtype=dtype).reshape(-1)[self.codes]
