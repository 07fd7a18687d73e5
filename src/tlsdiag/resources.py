"""Where the knowledge base and the bundled samples live.

In a wheel they ship inside the package (``tlsdiag/_data``); in a source
checkout or editable install they are the top-level ``signatures/`` and
``samples/`` folders, so a reviewer edits exactly the files the tool reads.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent


def _find(name: str) -> Path:
    bundled = _PACKAGE / "_data" / name
    if bundled.is_dir():
        return bundled
    return _CHECKOUT / name


def signatures_dir() -> Path:
    return _find("signatures")


def samples_dir() -> Path:
    return _find("samples")


def collector_dir() -> Path:
    """The Windows collectors (collect-tlsdiag.cmd, Collect-TlsDiag.ps1) and their JSON Schemas."""
    return _find("collector")
