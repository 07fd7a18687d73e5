"""The seed's own case by every route (audit 2026-12, section 7) and calibrated confidence.

Every string is cut out of the seed write-up itself (../shared/seed/windows-2012-tls-msxfaq.txt, read
from the shared folder, never copied into the repository), pasted alone into `explain`, and must put
the seed's cause (or, for the CMS line, the Edge CMS causes) among the first three causes. A bare error
code or one generic event must never give a high-confidence cause, and quorum loss must not outrank
the root store on the seed's single-server output.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tlsdiag.kb import load_kb
from tlsdiag.match import explain
from tlsdiag.match.diagnose import HIGH

REPO = Path(__file__).resolve().parents[2]
SEED = REPO.parent / "shared" / "seed" / "windows-2012-tls-msxfaq.txt"
ROOT = "root-store-non-self-signed"


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.fixture(scope="module")
def seed() -> str:
    assert SEED.is_file(), f"the seed write-up is missing: {SEED}"
    return SEED.read_text(encoding="utf-8")


def _cut(seed: str, start: str, end: str) -> str:
    """The seed's text from ``start`` up to and including ``end`` (both must occur in the seed)."""
    i = seed.index(start)
    j = seed.index(end, i) + len(end)
    return seed[i:j]


# (name, start, end, causes of which one must be among the first three) -- all cut from the seed
SEED_STRINGS = [
    ("18465", "Log Name: Microsoft-Windows-WindowsFabric/Admin", "partition name build error OperationFailed", {ROOT}),
    ("fabric-state-routing", "Replica Instances für Routing Service", "has no primäries.", {ROOT}),
    ("fabric-state-lyss", "Service: fabric:/lync/storage/", "has no primäries.", {ROOT}),
    ("fabric-state-whole", "PS C:\\> Get-CsPoolFabricState", "Secondary: 0\n", {ROOT}),
    ("sync-from-backup-store", "Failed to sync data für Routing group", "with server traces.", {ROOT}),
    ("cms-to-edge", "CMS-Replikation zum Edge", "funktioniert nicht", {"edge-cms-replication-certificate",
                                                                     "edge-cms-replication-network"}),
    ("fe-does-not-start", "Lync 2013 Frontend Server starten nicht", "starten nicht", {ROOT}),
    ("fe-on-2012-does-not-start", "Lync 2013 Frontend Server auf Win2012", "startet nicht", {ROOT}),
    ("clientauthtrustmode", "[HKEY_LOCAL_MACHINE\\SYSTEM", "dword:00000002", {ROOT}),
    ("one-liner-root", "Get-Childitem cert:\\LocalMachine\\root", "Format-List *", {ROOT}),
    ("one-liners-all", "# PowerShell Einzeiler", "!$_.HasPrivateKey } | ` Format-List", {ROOT}),
    ("one-liner-ca-key", "Get-Childitem cert:\\LocalMachine\\ca `", "$_.HasPrivateKey } | ` Format-List", {ROOT}),
    ("one-liner-ca-roots", "Get-Childitem cert:\\LocalMachine\\ca -Recurse", "$_.Subject} | ` Format-List *", {ROOT}),
    ("kb-2795828", "- 2795828 Lync Server 2013", "in Windows Server 2012", {ROOT}),
    ("kb-2901554-32402", "2901554 Event IDs 32402", "Windows Server 2012 R2", {"ws2012r2-session-tickets"}),
    ("kb-2464556", "2464556 TLS client", "Schannel warning", {"trusted-issuer-list-too-large"}),
]


@pytest.mark.parametrize(("name", "start", "end", "wanted"), SEED_STRINGS, ids=[s[0] for s in SEED_STRINGS])
def test_seed_string_leads_to_its_cause(kb, seed: str, name: str, start: str, end: str, wanted: set[str]) -> None:
    text = _cut(seed, start, end)
    result = explain(text, kb)
    causes = [m.id for m in result.matches if m.kind == "cause"][:3]
    assert wanted & set(causes), f"{name}: {text[:80]!r} -> {[(m.id, round(m.score, 2)) for m in result.matches]}"
    assert result.best_cause is not None


def test_kb_titles_without_their_numbers(kb) -> None:
    for cause in kb.causes.values():
        for article in cause.kb:
            if len(article.title) < 25:
                continue
            owners = {c.id for c in kb.causes.values() if article.number in {k.number for k in c.kb}}
            causes = [m.id for m in explain(article.title, kb).matches if m.kind == "cause"][:3]
            assert owners & set(causes), f"KB {article.number} title: {causes}"


def test_the_title_misprint_32402_leads_to_kb_2901554(kb) -> None:
    causes = [m.id for m in explain("32402", kb).matches if m.kind == "cause"]
    assert causes[:1] == ["ws2012r2-session-tickets"]


def test_single_server_fabric_output_never_puts_quorum_above_the_root_store(kb, seed: str) -> None:
    for text in (_cut(seed, "PS C:\\> Get-CsPoolFabricState", "Secondary: 0\n"),
                 "Service: (P) fabric:/lync/routing/E71E41AD8A345CCCA2493484208565C7 has no primaries.",
                 _cut(seed, "Failed to sync data", "server traces.") + "\n" + _cut(seed, "Log Name: Microsoft-Windows-W",
                                                                                   "OperationFailed")):
        scores = {m.id: m.score for m in explain(text, kb).matches if m.kind == "cause"}
        assert ROOT in scores and scores[ROOT] > scores.get("pool-quorum-loss", 0.0), scores


def test_no_cause_claims_certificates_are_not_involved(kb) -> None:
    """The sources name certificate causes for every symptom the catalog shares with quorum loss, cipher
    mismatches and the Edge network case, so no cause may tell the administrator to leave them alone."""
    banned = re.compile(r"certificates are not involved|not a certificate problem|stores are not involved", re.I)
    for cause in kb.causes.values():
        for text in (cause.title, cause.summary, cause.mechanism):
            assert not banned.search(text), f"{cause.id}: {text[:120]}"


@pytest.mark.parametrize("text", ["0x800B0109", "CERT_E_UNTRUSTEDROOT", "2148204809", "403.16",
                                  "Event ID: 32174\nSource: LS User Services", "has no primaries"])
def test_generic_evidence_gives_a_short_list_to_check_not_a_verdict(kb, text: str) -> None:
    result = explain(text, kb)
    causes = [m for m in result.matches if m.kind == "cause"]
    assert all(m.score < HIGH for m in causes), [(m.id, m.score) for m in causes]
    if causes:
        assert result.generic and all(m.generic for m in causes)
        assert 1 <= len(result.candidates) <= 4
        assert all(len(c.check) > 20 for c in result.candidates), result.candidates


def test_untrusted_root_code_lists_both_root_store_mistakes(kb) -> None:
    ids = {c.id for c in explain("0x800B0109", kb).candidates}
    assert {ROOT, "issuing-root-missing"} <= ids


def test_specific_text_is_still_a_verdict(kb) -> None:
    text = ("When asking for client authentication, this server sends a list of trusted certificate authorities to "
            "the client. Currently, this server trusts so many certificate authorities that the list has grown too "
            "long. This list has thus been truncated.")
    result = explain(text, kb)
    top = next(m for m in result.matches if m.kind == "cause")
    assert top.id == "trusted-issuer-list-too-large" and top.score >= HIGH and not result.generic


def test_cms_1017_points_to_the_network_and_1015_to_certificates(kb) -> None:
    net = explain("File transfer failed for some replica machines. Replica file transfer failures: "
                  "edge01.contoso.com: Https destination unavailable.", kb)
    assert net.best_cause is not None and net.best_cause.id == "edge-cms-replication-network"
    cert = explain("Reason: Unable to match host/cluster against certificate, host=edge01.contoso.com. Cause: "
                   "Microsoft Lync Server, Replica Replicator Agent presented an invalid certificate.", kb)
    assert cert.best_cause is not None and cert.best_cause.id == "edge-cms-replication-certificate"


def test_json_marks_store_related_per_cause_match(kb) -> None:
    proc = subprocess.run([sys.executable, "-m", "tlsdiag", "explain", "--format", "json", "0x800B0109"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    causes = [m for m in data["matches"] if m["kind"] == "cause"]
    assert causes
    for m in causes:
        assert m["store_related"] is kb.causes[m["id"]].store_related
    assert all(m["store_related"] is None for m in data["matches"] if m["kind"] == "event")
    assert data["generic"] is True and data["candidates"]
    schema = json.loads((REPO / "src/tlsdiag/report/schemas/explain.schema.json").read_text())
    import jsonschema

    jsonschema.validate(data, schema)


def test_the_seeds_whole_front_end_section_gives_the_root_store_and_no_confident_quorum_loss(kb, seed: str) -> None:
    """The audit's reproduction (C1): the seed's section from 'Lync 2013 Frontend Server auf Win2012 startet
    nicht' to the Get-CsPoolFabricState output gave pool-quorum-loss 0.86 against root-store 0.47."""
    text = _cut(seed, "Lync 2013 Frontend Server auf Win2012 startet nicht", "Fqdn: lync2013.msxfaq.net")
    scores = {m.id: m.score for m in explain(text, kb).matches if m.kind == "cause"}
    assert max(scores, key=scores.get) == ROOT, scores
    assert scores.get("pool-quorum-loss", 0.0) < HIGH, scores
