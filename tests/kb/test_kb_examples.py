"""Every example in the shipped knowledge base runs through the real matcher (data-driven).

The checks are ``tlsdiag kb test`` (src/tlsdiag/kbtest.py), so what an administrator runs after editing
a YAML file and what CI runs are the same code:

- catalog entries: positive example events match the entry, negative ones do not;
- causes: a positive example is diagnosed ("made") and ranked first on its computer; a negative example
  does not diagnose the cause above weak; ``sample:`` examples go through ``run_scan`` on the sample folder.

The list of cases comes from whatever the KB holds; an empty KB is a failure, not a pass.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tlsdiag.kb import KnowledgeBase, load_kb
from tlsdiag.kbtest import run, run_cause_example, run_event_example

REPO = Path(__file__).resolve().parents[2]


def _kb() -> tuple[KnowledgeBase | None, str]:
    try:
        return load_kb(), ""
    except Exception as exc:  # reported by the test below, never skipped
        return None, f"{type(exc).__name__}: {exc}"


KB, KB_ERROR = _kb()


def _cases(kind: str) -> list[Any]:
    if KB is None:
        return [pytest.param(None, None, None, id="kb-does-not-load")]
    items = KB.causes if kind == "causes" else KB.events
    out = []
    for item_id, item in sorted(items.items()):
        for polarity in ("positive", "negative"):
            for i, example in enumerate(item.examples.get(polarity, [])):
                out.append(pytest.param(item_id, polarity, example, id=f"{item_id}-{polarity}-{i}"))
    if not out:
        out.append(pytest.param(None, None, None, id=f"no-{kind}-examples"))
    return out


def test_knowledge_base_loads_and_has_causes() -> None:
    assert KB is not None, KB_ERROR
    assert KB.causes, "the knowledge base has no causes: nothing would ever be diagnosed"
    assert KB.events


@pytest.mark.parametrize(("entry_id", "polarity", "example"), _cases("events"))
def test_catalog_examples(entry_id: str | None, polarity: str | None, example: dict | None) -> None:
    assert KB is not None, KB_ERROR
    assert entry_id is not None, "no catalog examples in the knowledge base"
    ok, detail = run_event_example(KB, entry_id, polarity, example)
    assert ok, f"{entry_id}: {polarity} example {example}: {detail}"


@pytest.mark.slow
@pytest.mark.parametrize(("cause_id", "polarity", "example"), _cases("causes"))
def test_cause_examples(cause_id: str | None, polarity: str | None, example: dict | None) -> None:
    assert KB is not None, KB_ERROR
    assert cause_id is not None, "no cause examples in the knowledge base"
    ok, detail = run_cause_example(KB, cause_id, polarity, example)
    assert ok, f"{cause_id}: {polarity} example {example}: {detail}"


def test_every_entry_has_both_kinds_of_example() -> None:
    assert KB is not None, KB_ERROR
    for item in (*KB.events.values(), *KB.causes.values()):
        assert item.examples.get("positive") and item.examples.get("negative"), item.id


@pytest.mark.slow
def test_kb_test_cli_prints_per_file_and_exits_0(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tlsdiag", "kb", "test", "signatures/causes/pool-quorum-loss.yaml",
                           "lync-1017", "-v"], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("ok   signatures/causes/pool-quorum-loss.yaml:") for line in lines), proc.stdout
    assert any(line.startswith("ok   signatures/events/lync-1017.yaml: 3/3") for line in lines), proc.stdout
    assert lines[-1].startswith("7 of 7 example(s) passed in 2 file(s)"), proc.stdout


@pytest.mark.slow
def test_kb_test_reports_a_broken_example_with_its_file(tmp_path: Path) -> None:
    import shutil

    sigs = tmp_path / "signatures"
    shutil.copytree(REPO / "signatures", sigs)
    (tmp_path / "samples").symlink_to(REPO / "samples")  # the causes' sample folders, not copied
    entry = sigs / "events" / "lync-1017.yaml"
    text = entry.read_text(encoding="utf-8")
    # make the first negative example the event itself: the proof must now fail, for this file only
    text = text.replace('- {channel: "Lync Server", provider: "LS File Transfer Agent Service", event_id: 1034, data: {}}',
                        '- {channel: "Lync Server", provider: "LS File Transfer Agent Service", event_id: 1017, data: {}}')
    entry.write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "tlsdiag", "kb", "--signatures", str(sigs), "test", "lync-1017",
                           "lync-1015"], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL signatures/events/lync-1017.yaml: 2/3" in proc.stdout, proc.stdout
    assert "FAIL negative 1: matches, but must not" in proc.stdout
    assert "ok   signatures/events/lync-1015.yaml" in proc.stdout


def test_kb_test_refuses_unknown_names() -> None:
    assert KB is not None, KB_ERROR
    with pytest.raises(ValueError, match="nosuch"):
        run(KB, ["nosuch"])
    proc = subprocess.run([sys.executable, "-m", "tlsdiag", "kb", "test", "nosuch.yaml"], capture_output=True,
                          text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 2 and "nosuch.yaml" in proc.stderr
