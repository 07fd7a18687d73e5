"""One lookup index per knowledge base, built on first use.

Paste search and the code lookup each precompute an index of the knowledge base. A ``KnowledgeBase``
holds dicts and so cannot be a dict key; the index is kept by the knowledge base's identity, with the
knowledge base itself beside it, so a new object that happens to get a freed object's id is never
given the old index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from tlsdiag.kb.model import KnowledgeBase

T = TypeVar("T")


class PerKb(Generic[T]):
    """``build(kb)`` once per knowledge base; the last few are kept (tests load several)."""

    def __init__(self, build: Callable[[KnowledgeBase], T], keep: int = 4) -> None:
        self._build = build
        self._keep = keep
        self._built: dict[int, tuple[KnowledgeBase, T]] = {}

    def __call__(self, kb: KnowledgeBase) -> T:
        hit = self._built.get(id(kb))
        if hit is not None and hit[0] is kb:
            return hit[1]
        if len(self._built) >= self._keep:
            self._built.clear()
        value = self._build(kb)
        self._built[id(kb)] = (kb, value)
        return value
