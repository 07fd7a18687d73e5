"""Hostile signature files through `tlsdiag kb check --signatures DIR` and `tlsdiag scan --signatures DIR`.

A rule set may be shared or downloaded, so it is input too. Each hostile file
is dropped into a copy of the bundled knowledge base; ``kb check`` must list it
with its path and line (exit 1), ``scan`` must refuse the knowledge base in one
line naming the same (exit 2), nothing is executed, and no traceback appears.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tlsdiag.resources import signatures_dir

MARKER = "TLSDIAG-PWNED"

HOSTILE = {
    "python-tag.yaml": (f'id: evil\ntitle: !!python/object/apply:os.system ["echo {MARKER}"]\n', 2, "tag"),
    "python-name.yaml": ("id: evil\ntitle: ok\nx: !!python/name:os.system\n", 3, "tag"),
    "custom-tag.yaml": ("id: evil\ntitle: !Ref other\n", 2, "tag"),
    "explicit-str.yaml": ("id: evil\ntitle: !!str plain\n", 2, "tag"),
    "anchor.yaml": ("id: evil\nbase: &b {a: 1}\nother: *b\n", 2, "anchor"),
    "laughs.yaml": ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n", 1,
                    "anchor"),
    "merge-key.yaml": ("id: evil\n<<: *missing\n", 2, "alias"),
    "deep.yaml": ("a: " + "[" * 5000 + "]" * 5000 + "\n", 1, "nesting"),
    "deep-block.yaml": ("".join(" " * i + f"k{i}:\n" for i in range(60)) + " " * 60 + "v: 1\n", 33, "nesting"),
    "broken.yaml": ("id: evil\ntitle: [unclosed\nnext: 1\n", 3, "invalid YAML"),
    "tabs.yaml": ("id: evil\n\ttitle: x\n", 2, "invalid YAML"),
}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tlsdiag", *args], capture_output=True, text=True, timeout=300,
                          check=False)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "signatures"
    shutil.copytree(signatures_dir(), target)
    samples = signatures_dir().parent / "samples"
    if samples.is_dir():  # the signatures' own examples refer to ../samples
        shutil.copytree(samples, tmp_path / "samples")
    return target


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from datetime import datetime, timezone

    from tlsdiag_devkit.evtxwrite import EventSpec, UserData, write_file

    path = tmp_path_factory.mktemp("ev") / "System.evtx"
    write_file(path, [EventSpec(channel="System", provider="Schannel", event_id=36888, level=2,
                                time=datetime(2026, 1, 5, tzinfo=timezone.utc), computer="WEB01",
                                provider_guid="{1F678132-5938-4686-9FDC-C8FF68F15C85}",
                                userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40, "ErrorState": 1205}))])
    return path


@pytest.mark.slow
def test_bundled_copy_is_clean(kb_copy: Path, evidence: Path) -> None:
    """Baseline: the copy itself passes, so each failure below is the hostile file's."""
    assert _cli("kb", "--signatures", str(kb_copy), "check").returncode == 0
    assert _cli("scan", "--quiet", "--signatures", str(kb_copy), str(evidence)).returncode in (0, 1)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_signature_file(kb_copy: Path, evidence: Path, name: str) -> None:
    text, line, word = HOSTILE[name]
    path = kb_copy / "events" / name
    path.write_text(text, encoding="utf-8")
    check = _cli("kb", "--signatures", str(kb_copy), "check")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "Traceback" not in check.stderr and MARKER not in check.stdout + check.stderr
    located = [ln for ln in check.stdout.splitlines() if ln.startswith(f"{path}:")]
    assert located, check.stdout
    assert re.match(rf"{re.escape(str(path))}:{line}: .*{word}", located[0], re.I), located[0]

    scan = _cli("scan", "--quiet", "--signatures", str(kb_copy), str(evidence))
    assert scan.returncode == 2 and scan.stdout == ""
    lines = scan.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in scan.stderr and MARKER not in scan.stderr
    assert f"{path}:{line}" in lines[0]


@pytest.mark.slow
def test_oversized_signature_file(kb_copy: Path, evidence: Path) -> None:
    path = kb_copy / "causes" / "huge.yaml"
    path.write_text("id: huge\nnotes: |\n" + ("  " + "x" * 100 + "\n") * 5000, encoding="utf-8")
    check = _cli("kb", "--signatures", str(kb_copy), "check")
    assert check.returncode == 1 and f"{path}:1: file is" in check.stdout and "limited to" in check.stdout
    scan = _cli("scan", "--quiet", "--signatures", str(kb_copy), str(evidence))
    assert scan.returncode == 2 and scan.stderr.count("\n") == 1 and f"{path}:1" in scan.stderr


@pytest.mark.slow
def test_not_utf8_signature_file(kb_copy: Path) -> None:
    path = kb_copy / "events" / "latin1.yaml"
    path.write_bytes("id: x\ntitle: Zertifikatspr\xfcfung\n".encode("latin-1"))
    check = _cli("kb", "--signatures", str(kb_copy), "check")
    assert check.returncode == 1 and f"{path}:1: not UTF-8" in check.stdout


def test_missing_signatures_folder(tmp_path: Path, evidence: Path) -> None:
    missing = tmp_path / "nope"
    for proc in (_cli("kb", "--signatures", str(missing), "check"),
                 _cli("scan", "--quiet", "--signatures", str(missing), str(evidence))):
        assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr
        assert str(missing) in proc.stdout + proc.stderr
