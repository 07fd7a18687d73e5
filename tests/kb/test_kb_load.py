"""The loader must reject broken or hostile signature files with path, line and reason."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from tlsdiag.cli import main
from tlsdiag.errors import KnowledgeBaseError
from tlsdiag.kb import check_kb, load_kb

REPO = Path(__file__).resolve().parents[2]

EVENT = textwrap.dedent("""\
    id: schannel-36885
    title: Trusted issuer list truncated
    channel: System
    provider: Schannel
    provider_guid: "{1F678132-5938-4686-9FDC-C8FF68F15C85}"
    event_id: 36885
    level: warning
    meaning: The list of trusted issuers grew past the limit and was cut.
    fields: []
    templates:
      en: "When asking for client authentication, this server sends a list."
    sources:
      - key: S3
        title: KB 2464556
        supports: message text
        quality: verbatim
    """)

CAUSE = textwrap.dedent("""\
    id: too-many-roots
    title: Trusted issuer list too large
    summary: The root store holds so many certificates that the issuer list is cut.
    mechanism: Schannel truncates the list at 16 KB and clients pick no certificate.
    applies_to:
      products: [Lync Server 2013]
      windows: {min_build: 9200}
    kb:
      - {number: 2464556, title: Failed TLS connection between UC peers, url: "https://support.microsoft.com/kb/2464556"}
    evidence:
      - {id: truncated, event: schannel-36885, weight: 0.8, role: specific}
    fix:
      - step: Remove roots that are not needed
        command: Get-ChildItem Cert:\\LocalMachine\\AuthRoot | Measure-Object
    verify:
      - step: Check the count again
    examples:
      positive:
        - events: [{channel: System, provider: Schannel, event_id: 36885}]
      negative:
        - events: [{channel: System, provider: Schannel, event_id: 36884}]
    sources:
      - {key: S3, title: KB 2464556, supports: cause, quality: paraphrase}
    """)


@pytest.fixture()
def kbdir(tmp_path: Path) -> Path:
    root = tmp_path / "signatures"
    shutil.copytree(REPO / "signatures" / "schema", root / "schema")
    (root / "events").mkdir()
    (root / "causes").mkdir()
    (root / "events" / "schannel-36885.yaml").write_text(EVENT)
    (root / "causes" / "too-many-roots.yaml").write_text(CAUSE)
    return root


def test_valid_kb_loads(kbdir: Path) -> None:
    assert check_kb(kbdir) == []
    kb = load_kb(kbdir)
    assert kb.events["schannel-36885"].providers == ("schannel",)
    cause = kb.causes["too-many-roots"]
    assert cause.evidence[0].event == "schannel-36885"
    assert cause.windows is not None and cause.windows.contains(9600) and not cause.windows.contains(7601)


@pytest.mark.parametrize(
    ("old", "new", "line", "reason"),
    [
        ("event_id: 36885", "event_id: 99999", 6, "event_id"),
        ("level: warning", "level: loud", 7, "level"),
        ("id: schannel-36885", "id: schannel-1", 1, "must equal the file name"),
        ("title: Trusted", "title: !!python/object:os.system Trusted", 2, "tag"),
        ("fields: []", "fields: &a []\nmore: *a", 9, "anchors"),
        ("    quality: verbatim", "    quality: [", 17, "invalid YAML"),
        ('en: "When', 'en: "%2 When', 11, "%2"),
    ],
)
def test_broken_event_file_is_reported_with_line(kbdir: Path, old: str, new: str, line: int, reason: str) -> None:
    path = kbdir / "events" / "schannel-36885.yaml"
    path.write_text(EVENT.replace(old, new))
    problems = check_kb(kbdir)
    assert problems, "a broken file must be reported"
    assert any(p.path == path and p.line == line and reason in p.reason for p in problems), problems
    with pytest.raises(KnowledgeBaseError, match=r"schannel-36885\.yaml"):
        load_kb(kbdir)


def test_cause_cross_references_are_checked(kbdir: Path) -> None:
    path = kbdir / "causes" / "too-many-roots.yaml"
    path.write_text(CAUSE.replace("event: schannel-36885", "event: schannel-9"))
    problems = check_kb(kbdir)
    assert [p.line for p in problems if "unknown catalog event" in p.reason] == [11]


def test_missing_sources_and_examples_are_refused(kbdir: Path) -> None:
    path = kbdir / "causes" / "too-many-roots.yaml"
    text = CAUSE.split("examples:")[0]
    path.write_text(text)
    reasons = " ".join(p.reason for p in check_kb(kbdir))
    assert "'examples' is a required property" in reasons and "'sources' is a required property" in reasons


def test_huge_and_stray_files_are_refused(kbdir: Path) -> None:
    (kbdir / "events" / "big.yaml").write_text("id: big\n" + "#" * 300_000)
    (kbdir / "causes" / "notes.txt").write_text("x")
    reasons = [p.reason for p in check_kb(kbdir)]
    assert any("limited to" in r for r in reasons)
    assert any("must end in .yaml" in r for r in reasons)


def test_cli_kb_check_exit_codes(kbdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "--signatures", str(kbdir), "check"]) == 0
    (kbdir / "events" / "schannel-36885.yaml").write_text(EVENT.replace("level: warning", "level: loud"))
    assert main(["kb", "--signatures", str(kbdir), "check"]) == 1
    out = capsys.readouterr().out
    assert "schannel-36885.yaml:7:" in out
