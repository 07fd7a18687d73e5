"""One rendering of a fix step and of a store finding per medium: the `stores` report and the scan report
show the same finding the same way (text, Markdown, JSON), with the right prompt for the step's shell and a
multi-line command kept on its lines (before issue 19 the `stores` text put it on one line, and the scan
text showed a PowerShell prompt before cmd commands)."""

from __future__ import annotations

import json

import pytest

from support.paths import REPO
from tlsdiag import textsafe
from tlsdiag.cli import main
from tlsdiag.report import render_scan, steps
from tlsdiag.report.stores import finding_markdown, finding_text
from tlsdiag.scan import run_scan

SAMPLE = REPO / "samples" / "trusted-issuer-list-16kb"  # its issuer-list fix is a two-line cmd command


@pytest.fixture(scope="module")
def result():
    return run_scan([SAMPLE])


def _store_findings(result):
    found = [f for d in result.diagnoses for f in d.store_findings]
    assert found, "the sample's store proof is attached to its diagnosis"
    return found


def _cmd_step(result):
    for f in _store_findings(result):
        for s in f.fix:
            if s.shell == "cmd" and "\n" in s.command.strip():
                return s
    raise AssertionError("the sample has a multi-line cmd step")


def test_a_cmd_step_has_the_cmd_prompt_and_its_lines_in_every_text_view(result, capsys) -> None:
    step = _cmd_step(result)
    first, second = step.command.strip().splitlines()[:2]
    scan_text = render_scan(result, "text")
    assert f"C:\\> {first}" in scan_text and f"PS> {first}" not in scan_text
    assert main(["stores", str(SAMPLE / "stores")]) == 1
    stores_text = capsys.readouterr().out
    for text in (scan_text, stores_text):
        lines = [line.strip() for line in text.splitlines()]
        assert f"C:\\> {first}" in lines and second in lines  # each command line on its own line


def test_a_store_finding_is_the_same_block_in_the_stores_and_the_scan_text(result, capsys) -> None:
    main(["stores", str(SAMPLE / "stores")])
    stores_text = capsys.readouterr().out
    scan_text = render_scan(result, "text")
    for f in _store_findings(result):
        block = finding_text(f)
        assert "\n".join(block) in stores_text
        assert "\n".join("       " + line for line in block) in scan_text


def test_a_store_finding_is_the_same_in_the_stores_and_the_scan_markdown(result, capsys) -> None:
    main(["stores", "--format", "markdown", str(SAMPLE / "stores")])
    stores_md = capsys.readouterr().out
    scan_md = render_scan(result, "markdown")
    for f in _store_findings(result):
        block = "\n".join(finding_markdown(f))
        assert block in stores_md and block in scan_md
    assert "```cmd" in scan_md and "```cmd" in stores_md


def test_a_store_finding_is_the_same_json_in_the_stores_and_the_scan_output(result, capsys) -> None:
    main(["stores", "--format", "json", str(SAMPLE / "stores")])
    stores_doc = json.loads(capsys.readouterr().out)
    scan_doc = json.loads(render_scan(result, "json"))
    key = lambda f: (f["check"], (f["certificate"] or {}).get("thumbprint"))  # noqa: E731
    in_stores = {key(f): f for f in stores_doc["findings"]}
    attached = [sf for f in scan_doc["findings"] for sf in f["store_findings"]]
    assert attached
    for sf in attached:
        assert in_stores[key(sf)] == sf
    cause_step = scan_doc["findings"][0]["fix"][0]
    assert set(cause_step) == set(attached[0]["fix"][0]) == {"step", "command", "shell", "note"}


def test_the_html_renders_a_store_step_from_the_same_json(result) -> None:
    step = _cmd_step(result)
    html = render_scan(result, "html")
    assert "\n".join(steps.html("x", [step.to_dict()])[2:-1]) in html


def test_every_medium_gives_a_considered_cause_the_same_reason() -> None:
    """The healthy server's clean stores rule causes out: text, Markdown, JSON and HTML all say so (the
    Markdown used to say "only generic evidence" and the HTML only the score)."""
    healthy = run_scan([REPO / "samples" / "healthy-server"])
    doc = json.loads(render_scan(healthy, "json"))
    considered = [f for f in doc["findings"] if not f["made"]]
    ruled = [f for f in considered if f["confidence"] == "ruled out"]
    assert ruled and all(f["reason"].startswith("ruled out by store") for f in ruled)
    assert all(f["reason"] is None for f in doc["findings"] if f["made"])
    text, md, html = (render_scan(healthy, fmt) for fmt in ("text", "markdown", "html"))
    from tlsdiag import textsafe

    for f in considered:
        assert f"[{f['confidence']}]: {f['reason']}" in text
        assert f"({f['confidence']}): {textsafe.markdown(f['reason'])}" in md
        assert f"({textsafe.html_text(f['reason'])})" in html


def test_a_workaround_is_rendered_alike_by_scan_and_explain_in_text_and_markdown(result, capsys) -> None:
    # explain's text used to drop the workaround's command and its Markdown the workarounds altogether
    cause = next(d.cause for d in result.diagnoses if d.cause.workarounds)
    first = cause.workarounds[0].command.strip().splitlines()[0]
    text = ("Event ID 36885 When asking for client authentication, this server sends a list of trusted "
            "certificate authorities")
    for fmt, marker in (("text", f"C:\\> {first}"), ("markdown", f"```{cause.workarounds[0].shell}")):
        assert main(["explain", "--format", fmt, text]) == 0
        explained = capsys.readouterr().out
        shown_id = cause.id if fmt == "text" else textsafe.markdown(cause.id)
        assert shown_id in explained, "the sample's cause is explain's answer for its 36885"
        scanned = render_scan(result, fmt)
        block = (steps.workarounds_text(cause.workarounds, "  ") if fmt == "text"
                 else steps.workarounds_markdown(cause.workarounds))
        assert marker in "\n".join(block)
        assert "\n".join(block).strip() in explained
        # the same block at another indent (a caveat wraps by its indent): compare the words in order
        assert " ".join("\n".join(block).split()) in " ".join(scanned.split())
