"""The error-code knowledge base (signatures/codes/): every entry's own examples are recognised as that entry,
codes are found in every form people paste them, a lone generic code never makes a confident cause, and the
loader rejects an entry that names a cause or event that does not exist or claims another entry's code.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from tlsdiag.kb import check_kb, load_kb
from tlsdiag.match import explain
from tlsdiag.match.codes import CAUSE_CAP, lookup, value_forms

REPO = Path(__file__).resolve().parents[2]
KB = load_kb()


def test_code_kb_loaded_and_large_enough() -> None:
    kinds = {e.kind for e in KB.codes.values()}
    assert kinds == {"hresult", "tls-alert", "http-status", "message"}
    assert len(KB.codes) >= 40


@pytest.mark.parametrize("entry_id", sorted(KB.codes))
def test_entry_examples_recognised(entry_id: str) -> None:
    entry = KB.codes[entry_id]
    for example in entry.examples:
        found = [h.entry.id for h in lookup(example, KB)]
        assert entry_id in found, f"{entry_id}: example {example!r} gave {found}"


@pytest.mark.parametrize("entry_id", sorted(KB.codes))
def test_entry_checks_and_sources(entry_id: str) -> None:
    entry = KB.codes[entry_id]
    assert entry.check and entry.sources
    for check in entry.check:
        assert check.cause is None or check.cause in KB.causes


@pytest.mark.parametrize("form", ["0x80090325", "80090325", "2148074277", "-2146893019", "SEC_E_UNTRUSTED_ROOT"])
def test_hresult_forms(form: str) -> None:
    assert [h.entry.id for h in lookup(f"failed with {form}.", KB)] == ["sec-e-untrusted-root"]


def test_value_forms_arithmetic() -> None:
    assert value_forms("0x800B0109") == ["0x800B0109", "800B0109", "2148204809", "-2146762487"]


def test_codes_inside_other_numbers_are_not_found() -> None:
    assert lookup("build 121480742779 and 0x800903251 and x80090325y", KB) == []


@pytest.mark.parametrize(("text", "alert"), [
    ("The TLS protocol defined fatal alert code is 40.", "tls-alert-40"),
    ("The following fatal alert was received: 47.", "tls-alert-47"),
    ("Es wurde eine schwerwiegende Warnung empfangen: 51.", "tls-alert-51"),
    ("<Data Name='AlertDesc'>20</Data>", "tls-alert-20"),
    ("TLSv1.2 (OUT), TLS alert, unknown CA (560):", "tls-alert-48"),
])
def test_alerts(text: str, alert: str) -> None:
    assert alert in [h.entry.id for h in lookup(text, KB)]


def test_alert_number_needs_the_word_alert() -> None:
    assert not [h for h in lookup("Event ID 40 logged 51 times", KB) if h.entry.kind == "tls-alert"]


@pytest.mark.parametrize(("text", "entry_id"), [
    ("Die Anfrage wurde abgebrochen: Es konnte kein geschützter SSL/TLS-Kanal erstellt werden.",
     "net-secure-channel-failure"),
    ("The request was aborted: Could not create SSL/TLS secure channel.", "net-secure-channel-failure"),
    ("Invoke-WebRequest : 请求被中止: 未能创建 SSL/TLS 安全通道。", "net-secure-channel-failure"),
    ("The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure channel.",
     "net-trust-failure"),
    ("HTTP Error 403.16 - Forbidden", "http-403-16"),
    ("Invoke-WebRequest : Запрос был прерван: Не удалось создать защищенный канал SSL/TLS.", "net-secure-channel-failure"),
    ("La connexion sous-jacente a été fermée : Impossible d’établir une relation de confiance pour le canal sécurisé "
     "SSL/TLS.", "net-trust-failure"),
])
def test_messages_in_languages(text: str, entry_id: str) -> None:
    assert entry_id in [h.entry.id for h in lookup(text, KB)]


def test_lone_generic_code_is_not_a_confident_cause() -> None:
    # a driver installer's routine warning (the shape of libwdi's log): the code is named, no store cause at 0.5
    result = explain("sig: Verifying file against specific (valid) catalog failed! (0x800b0109)", KB)
    assert [h.entry.id for h in result.codes] == ["cert-e-untrustedroot"]
    assert all(m.score <= CAUSE_CAP for m in result.matches if m.kind == "cause")
    assert result.best_cause is None and result.found


def test_code_with_real_evidence_still_makes_the_cause() -> None:
    text = ("Log Name: System\nSource: Schannel\nEvent ID: 36885\nLevel: Warning\nDescription:\nWhen asking for "
            "client authentication, this server sends a list of trusted certificate authorities to the client.")
    result = explain(text, KB)
    causes = [m for m in result.matches if m.kind == "cause"]
    assert causes and causes[0].score > CAUSE_CAP


def test_a_code_beside_a_real_event_keeps_the_cause_the_event_leads_to() -> None:
    text = ("Log Name: Lync Server\nSource: LS User Services\nEvent ID: 32174\nLevel: Warning\nDescription:\n"
            "Server startup is being delayed because fabric pool manager has not finished initial placement of "
            "users.\nCertificate error: 0x800B0109")
    result = explain(text, KB)
    assert result.codes and result.matches[0].id == "lync-32174"
    assert result.best_cause is not None


def test_exchange_um_tls_api_failure_points_to_issuer_list() -> None:
    text = ('Source: MSExchange Unified Messaging\nEvent ID: 1423\nError details: "Microsoft.Exchange.Net.ExSmtpClient.'
            'TlsApiFailureException: A TLS API failure occurred. Error = 0x80090301')
    result = explain(text, KB)
    assert "exchange-tls-issuer-list-too-large" in [m.id for m in result.matches[:3]]
    assert "sec-e-invalid-handle" in [h.entry.id for h in result.codes]


def test_short_chinese_messages_are_told_apart() -> None:
    trust = [h.entry.id for h in lookup("未能为 SSL/TLS 安全通道建立信任关系。", KB)]
    channel = [h.entry.id for h in lookup("请求被中止: 未能创建 SSL/TLS 安全通道。", KB)]
    assert trust == ["net-trust-failure"] and channel == ["net-secure-channel-failure"]


def test_noise_gives_no_code() -> None:
    assert lookup("The quick brown fox jumps over the lazy dog 12345.", KB) == []


def _copy_kb(tmp_path: Path) -> Path:
    target = tmp_path / "signatures"
    shutil.copytree(REPO / "signatures", target)
    (tmp_path / "samples").symlink_to(REPO / "samples")
    return target


def test_loader_rejects_unknown_cause_and_duplicate_value(tmp_path: Path) -> None:
    sigs = _copy_kb(tmp_path)
    (sigs / "codes" / "dup-untrusted-root.yaml").write_text(textwrap.dedent("""\
        id: dup-untrusted-root
        name: DUPLICATE
        kind: hresult
        value: "0x80090325"
        meaning: The same code claimed a second time, for the test.
        check:
          - {step: "Check something that does not exist", cause: no-such-cause}
        examples: ["DUPLICATE"]
        sources:
          - {key: T, title: test, supports: test, quality: inferred}
        """), encoding="utf-8")
    reasons = [p.reason for p in check_kb(sigs)]
    assert any("unknown cause 'no-such-cause'" in r for r in reasons)
    assert any(r.startswith("hresult 0x80090325 is also entry") for r in reasons)


@pytest.mark.slow
def test_signatures_without_codes_folder_still_load(tmp_path: Path) -> None:
    sigs = _copy_kb(tmp_path)
    shutil.rmtree(sigs / "codes")
    assert check_kb(sigs) == []
    assert load_kb(sigs).codes == {}


def test_code_answer_names_its_related_events_where_to_look() -> None:
    # .NET's closed-connection message names no event; the answer tells the admin which Schannel events to look
    # for and in which log, from the entry's related_events, with the catalog's titles
    from tlsdiag.report.markdown import render_explain as render_md
    from tlsdiag.report.text import render_explain

    result = explain("New-ACMERegistration : The underlying connection was closed: An unexpected error occurred "
                     "on a receive.", KB)
    hit = next(h for h in result.codes if h.entry.id == "net-connection-closed-receive")
    assert [r.id for r in hit.related] == list(hit.entry.related_events)
    text = render_explain(result)
    block = text.split("Events to look for at the same time:", 1)[1].split("What to check", 1)[0]
    for r in hit.related:
        assert f"{r.provider} {r.event_id} ({r.channel} log): {r.title}" in block
    assert "Events to look for at the same time:" in render_md(result)


def test_related_event_needing_extra_logging_says_so_and_a_pasted_event_is_not_repeated() -> None:
    from tlsdiag.report.text import render_explain

    # CERT_E_UNTRUSTEDROOT names Schannel 36877, which Windows writes only with extra logging enabled
    result = explain("sig: Verifying file against specific (valid) catalog failed! (0x800b0109)", KB)
    text = render_explain(result)
    assert "Schannel 36877 (System log)" in text
    line = next(x for x in text.splitlines() if "Schannel 36877 (System log)" in x)
    assert "extra logging" in line
    # a pasted 36887 with alert 40 names the alert; its related 36887 is the paste itself, so only 36888 is listed
    pasted = explain("Log Name: System\nSource: Schannel\nEvent ID: 36887\nLevel: Error\nDescription:\nA fatal alert "
                     "was received from the remote endpoint. The TLS protocol defined fatal alert code is 40.", KB)
    assert pasted.matches[0].id == "schannel-36887" and "tls-alert-40" in [h.entry.id for h in pasted.codes]
    block = render_explain(pasted).split("(tls-alert-40;", 1)[1].split("What to check", 1)[0]
    assert "Schannel 36888 (System log):" in block and "Schannel 36887 (System log):" not in block
