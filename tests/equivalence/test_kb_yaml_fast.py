"""The libyaml fast path of the signature loader gives exactly what the pure-Python path gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tlsdiag.kb import yamlsafe
from tlsdiag.resources import signatures_dir

FILES = sorted(Path(signatures_dir()).rglob("*.yaml"))


def test_libyaml_present() -> None:
    assert yamlsafe._CLoader is not None  # the speed-up is in effect here


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_same_data_and_lines(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    slow = yamlsafe._load_text(text, yaml.SafeLoader)
    fast = yamlsafe._load_text(text, yamlsafe._CLoader)
    assert fast == slow
    assert repr(fast[0]) == repr(slow[0])  # same types too (1 vs True vs "1")
    assert yamlsafe.load(path) == slow


@pytest.mark.parametrize("text", ["a: &x 1\nb: *x\n", "a: !!python/object:os.system x\n", "a: [1\n", "a: !!str x\n"])
def test_problems_come_from_the_python_path(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(yamlsafe.YamlProblem) as fast:
        yamlsafe.load(path)
    with pytest.raises(yamlsafe.YamlProblem) as slow:
        yamlsafe._load_text(text, yaml.SafeLoader)
    assert (fast.value.line, fast.value.reason) == (slow.value.line, slow.value.reason)
