"""Store-check metadata lives in signatures/checks/ (one YAML file per check id) and the code uses it;
the new signature-algorithm check; the SCHANNEL findings follow the sources (audit 2026-12 M1, m17)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tlsdiag.kb import load_kb
from tlsdiag.stores import load_stores, run_checks
from tlsdiag.stores.certs import Cert
from tlsdiag.stores.checks import CHECKS, check_metadata
from tlsdiag.stores.model import MACHINE, StoreCert, StoreSnapshot
from tlsdiag_devkit import storegen as td

REPO = Path(__file__).resolve().parents[2]
SOURCE = (REPO / "src/tlsdiag/stores/checks.py").read_text(encoding="utf-8")
AT = datetime(2026, 6, 1, tzinfo=timezone.utc)
KB = load_kb()
MD5_RSA = bytes.fromhex("300d06092a864886f70d0101040500")


def test_every_check_in_the_code_is_defined_once_in_yaml_and_back() -> None:
    used = set(re.findall(r'_(?:problem|note|clean|steps)\("([a-z0-9-]+)"', SOURCE))
    defined = set(KB.checks)
    assert used == defined, (sorted(used - defined), sorted(defined - used))
    assert set(CHECKS) == defined
    for check in KB.checks.values():
        assert check.path.stem == check.id and check.path.parent.name == "checks"
        assert CHECKS[check.id] == (check.title, check.cause)
    referenced = {c for cause in KB.causes.values() for c in (*cause.proves, *cause.rules_out_when_clean)}
    assert referenced <= defined


def _sample_findings() -> list:
    out = []
    for folder in sorted((REPO / "samples").glob("*/stores")):
        for snapshot in load_stores([folder]):
            out.extend(run_checks(snapshot, AT))
    assert out, "no sample store exports"
    return out


@pytest.mark.slow
def test_findings_use_the_severities_their_yaml_declares() -> None:
    findings = _sample_findings()
    for build in (9600, None, 9200):
        snap = StoreSnapshot("FE01", schannel_collected=True, os_build=build)
        snap.schannel.update({"ClientAuthTrustMode": 2, "SendTrustedIssuerList": 1})
        findings += run_checks(snap, AT)
    for f in findings:
        if f.kind != "problem":
            continue
        meta = check_metadata()[f.check]
        assert f.severity in (meta.severity, *meta.other_severities), (f.check, f.severity)
        assert f.title == meta.title and f.explanation == meta.explanation


def test_clientauthtrustmode_is_information_with_both_positions_and_sendtrustedissuerlist_0_is_the_default() -> None:
    snap = StoreSnapshot("FE01", schannel_collected=True, os_build=9200)
    snap.schannel.update({"ClientAuthTrustMode": 2, "SendTrustedIssuerList": 0})
    found = {f.details.get("value"): f for f in run_checks(snap, AT) if f.check == "schannel-workaround-in-place"}
    trust, send = found["ClientAuthTrustMode"], found["SendTrustedIssuerList"]
    assert trust.severity == "info" and not trust.is_problem
    text = " ".join([trust.why, *(s.step for s in trust.fix)])
    assert "OnPremDiag" in text and "crutch" in text and "test window" in text
    assert all("&&" in s.command and "reg export" in s.command for s in trust.fix if "reg delete" in s.command)
    assert send.severity == "info" and "default" in send.why and not send.fix


def _resigned(der: bytes, key: object, algorithm: bytes, digest: hashes.HashAlgorithm) -> bytes:
    """``der`` (signed with sha256WithRSA) re-signed with another RSA signature algorithm."""
    cert = Cert(der)
    tbs = cert.x509.tbs_certificate_bytes
    assert tbs.count(td._SHA256_RSA) == 1
    tbs = tbs.replace(td._SHA256_RSA, algorithm)
    signature = key.sign(tbs, padding.PKCS1v15(), digest)  # type: ignore[attr-defined]
    return td._tlv(0x30, tbs + algorithm + td._tlv(0x03, b"\x00" + signature))


def _snapshot(root_der: bytes, root_key: object, build: int | None) -> StoreSnapshot:
    root_name = Cert(root_der).x509.subject
    leaf = td.make_cert(td.name("fe01.contoso.local"), td.ec_key("leaf-sigalg"), issuer=root_name,
                        issuer_key=root_key, serial=7, not_before=datetime(2025, 1, 1, tzinfo=timezone.utc),
                        not_after=datetime(2027, 1, 1, tzinfo=timezone.utc), ca=False, eku=td.SERVER_AUTH)
    snap = StoreSnapshot("FE01", os_build=build)
    snap.add(StoreCert(Cert(root_der), MACHINE, "ROOT", False))
    snap.add(StoreCert(Cert(leaf), MACHINE, "MY", True))
    return snap


@pytest.mark.slow
@pytest.mark.parametrize(("algorithm", "digest", "build", "flagged"), [
    ("md5", hashes.MD5(), 14393, True),  # noqa: S303 - the weak algorithm under test
    ("sha512", hashes.SHA512(), 9600, True),
    ("sha512", hashes.SHA512(), None, True),
    ("sha512", hashes.SHA512(), 14393, False),
    ("sha256", None, 9600, False),
])
def test_chain_signature_algorithm(algorithm: str, digest: hashes.HashAlgorithm | None, build: int | None,
                                   flagged: bool) -> None:
    key = td.rsa_key("sigalg-root")
    name = td.name(f"Sigalg Root {algorithm}")
    root = td.make_cert(name, key, serial=5, not_before=datetime(2020, 1, 1, tzinfo=timezone.utc),
                        not_after=datetime(2035, 1, 1, tzinfo=timezone.utc))
    if algorithm == "md5":
        root = _resigned(root, key, MD5_RSA, hashes.MD5())  # noqa: S303 - the weak algorithm under test
    elif algorithm == "sha512":
        root = _resigned(root, key, bytes.fromhex("300d06092a864886f70d01010d0500"), hashes.SHA512())
    [f] = [f for f in run_checks(_snapshot(root, key, build), AT) if f.check == "chain-signature-algorithm"]
    assert (f.kind == "problem") is flagged, f.why
    if flagged:
        assert f.cause == "signature-algorithm-tls12" and ("md5RSA" if algorithm == "md5" else "sha512RSA") in f.why


def test_finding_fix_blocks_back_up_before_they_change() -> None:
    changes = re.compile(r"\breg\s+(?:add|delete)\b|\bMove-Item\b|\bRemove-Item\b|certutil\s+-repairstore", re.I)
    snap = StoreSnapshot("FE01", schannel_collected=True, os_build=9600)
    snap.schannel.update({"ClientAuthTrustMode": 2, "SendTrustedIssuerList": 1})
    findings = _sample_findings() + run_checks(snap, AT)
    checked = 0
    for f in findings:
        for step in f.fix:
            m = changes.search(step.command)
            if not m:
                continue
            checked += 1
            head = step.command[:m.start()]
            assert re.search(r"reg\s+export|Export-Certificate|Export-PfxCertificate", head), step.command
            if step.shell == "cmd":
                assert "&&" in head and "mkdir" in head, step.command
            else:
                assert "$ErrorActionPreference = 'Stop'" in head and "New-Item -ItemType Directory" in head, step.command
    assert checked


@pytest.mark.slow
def test_adfs_trusted_devices_store_is_checked_and_proves_its_own_cause() -> None:
    key = td.rsa_key("adfs-root")
    root_name = td.name("Contoso Root CA ADFS")
    root = td.make_cert(root_name, key, serial=11, not_before=datetime(2020, 1, 1, tzinfo=timezone.utc),
                        not_after=datetime(2035, 1, 1, tzinfo=timezone.utc))
    sub = td.make_cert(td.name("Contoso Issuing CA ADFS"), td.ec_key("adfs-sub"), issuer=root_name, issuer_key=key,
                       serial=12, not_before=datetime(2020, 1, 1, tzinfo=timezone.utc),
                       not_after=datetime(2030, 1, 1, tzinfo=timezone.utc))
    snap = StoreSnapshot("ADFS01")
    snap.add(StoreCert(Cert(root), MACHINE, "AdfsTrustedDevices", False))
    snap.add(StoreCert(Cert(sub), MACHINE, "AdfsTrustedDevices", False))
    [f] = [f for f in run_checks(snap, AT) if f.check == "adfs-trusted-devices-not-self-signed"]
    assert f.kind == "problem" and f.severity == "error" and "Issuing CA ADFS" in f.why
    assert f.cause == "adfs-trusted-devices-non-self-signed"
    assert "adfs-trusted-devices-not-self-signed" in KB.causes["adfs-trusted-devices-non-self-signed"].proves
    assert "adfs-trusted-devices-not-self-signed" not in KB.causes["root-store-non-self-signed"].proves
    assert not [f for f in run_checks(StoreSnapshot("X"), AT) if f.check == "adfs-trusted-devices-not-self-signed"]
