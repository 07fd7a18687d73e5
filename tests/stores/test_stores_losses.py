"""Store losses are counted like event losses, and certificates a strict parser refuses are still read.

Real root stores hold certificates with a zero or negative serial number (Mozilla's list as shipped
in ``certifi``, real ``reg export`` files in ../shared/realworld/reg). ``cryptography`` warns about
them today and will refuse them later; here they are read by the tolerant path, with a note, and
every test runs with warnings turned into errors, so no Python warning can reach a user.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tlsdiag.stores import load_stores, run_checks
from tlsdiag.stores.model import MACHINE
from tlsdiag_devkit import storegen as td

pytestmark = pytest.mark.filterwarnings("error")

REPO = Path(__file__).resolve().parents[2]
REALWORLD_REG = REPO.parent / "shared" / "realworld" / "reg"
SAMPLE = REPO / "samples" / "lync2013-fe-root-store"


def _parse(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, end) of a DER element: the test's own tiny parser."""
    first = data[pos + 1]
    if first < 0x80:
        return data[pos], pos + 2, pos + 2 + first
    n = first & 0x7F
    start = pos + 2 + n
    return data[pos], start, start + int.from_bytes(data[pos + 2:start], "big")


def with_serial(der: bytes, serial: bytes, signer: object) -> bytes:
    """``der`` with its serial INTEGER content replaced and signed again by ``signer`` (SHA-256 RSA)."""
    _, body, _ = _parse(der, 0)
    _, tbs_body, tbs_end = _parse(der, body)
    pos = tbs_body
    tag, _, end = _parse(der, pos)
    if tag == 0xA0:
        pos = end
    tag, _, serial_end = _parse(der, pos)
    assert tag == 0x02
    tbs = td._tlv(0x30, der[tbs_body:pos] + td._tlv(0x02, serial) + der[serial_end:tbs_end])
    _, _, alg_end = _parse(der, tbs_end)
    signature = signer.sign(tbs, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[attr-defined]
    return td._tlv(0x30, tbs + der[tbs_end:alg_end] + td._tlv(0x03, b"\x00" + signature))


def odd_store() -> tuple[td.StoreSet, td.Entry, td.Entry]:
    """Clean stores plus a zero-serial root and a negative-serial intermediate CA misplaced in Trusted Root."""
    s = td.clean("ODD01")
    key = td.rsa_key("zero-serial-root", 1024)
    subject = td.name("Zero Serial Root", o="Old Trust")
    root = with_serial(td.make_cert(subject, key, serial=7, not_before=td.T0, not_after=td.T0 + 30 * td.Y),
                       b"\x00", key)
    ca_key = td.rsa_key("negative-serial-ca", 1024)
    ca = with_serial(td.make_cert(td.name("Negative Serial CA"), ca_key, issuer=subject, issuer_key=key, serial=9,
                                  not_before=td.T0, not_after=td.T0 + 20 * td.Y), b"\xfe\x01", key)
    return s, s.add(MACHINE, "ROOT", root, label="zero"), s.add(MACHINE, "ROOT", ca, label="negative")


def test_strict_parser_refuses_these_certificates() -> None:
    """The premise: cryptography does warn (so without the tolerant path a user would see it)."""
    from cryptography import x509

    _, zero, negative = odd_store()
    for entry in (zero, negative):
        with pytest.raises(Warning, match="serial number"):
            x509.load_der_x509_certificate(entry.der)


def test_zero_and_negative_serials_are_read_with_a_note(tmp_path: Path) -> None:
    s, zero, negative = odd_store()
    td.write_reg_exports(s, tmp_path / "ODD01")
    [snap] = load_stores([tmp_path / "ODD01"])
    by_thumb = {sc.thumbprint: sc for sc in snap.certs}
    assert zero.thumbprint in by_thumb and negative.thumbprint in by_thumb  # nothing lost
    assert not snap.lost
    z, n = by_thumb[zero.thumbprint].cert, by_thumb[negative.thumbprint].cert
    assert z.serial == "00" and "serial number is zero" in z.note
    assert n.serial == "FE01" and "serial number is negative" in n.note
    # the signature is checked over the certificate as stored, not over the repaired copy
    assert (z.self_signed.value, z.self_signed.how) == (True, "signature")
    assert (n.self_signed.value, n.self_signed.how) == (False, "names differ")
    assert z.issued(n) is True
    assert z.subject == "CN=Zero Serial Root,O=Old Trust"
    findings = run_checks(snap, td.DEFAULT_COLLECTED)
    [misplaced] = [f for f in findings if f.check == "root-not-self-signed" and f.cert
                   and f.cert.thumbprint == negative.thumbprint]
    assert "serial number is negative" in misplaced.cert.note
    assert misplaced.to_dict()["certificate"]["note"] == misplaced.cert.note


@pytest.mark.slow
def test_cli_stores_shows_the_note_and_no_warning(tmp_path: Path) -> None:
    s, _, negative = odd_store()
    td.write_reg_exports(s, tmp_path / "ODD01")
    run = subprocess.run([sys.executable, "-W", "default", "-m", "tlsdiag", "stores", str(tmp_path / "ODD01")],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 1, run.stderr
    assert run.stderr == ""
    assert "Read tolerantly: 2 certificate(s)" in run.stdout
    assert f"thumbprint:  {negative.thumbprint}" in run.stdout
    assert "note:        serial number is negative (0xFE01)" in run.stdout


def test_real_reg_exports_load_without_warnings_or_losses() -> None:
    """Real ``reg export`` files (../shared/realworld/reg): one holds a zero-serial Starfield root."""
    assert REALWORLD_REG.is_dir(), f"{REALWORLD_REG} missing: the real-world material must sit beside the repository"
    snaps = [snap for path in sorted(REALWORLD_REG.glob("*.reg")) for snap in load_stores([path])]
    tolerant = [sc for snap in snaps for sc in snap.certs if sc.cert.note]
    assert len(snaps) == 3 and sum(len(snap.certs) for snap in snaps) == 83
    assert not [loss for snap in snaps for loss in snap.lost]
    assert [sc.thumbprint for sc in tolerant] == ["AD7E1C28B064EF8F6003402014C3D0E3370EB58A"]
    assert tolerant[0].cert.self_signed.how == "signature"
    for snap in snaps:
        run_checks(snap, td.DEFAULT_COLLECTED)


def test_mozilla_roots_in_certifi_all_read() -> None:
    """Every root of Mozilla's list (as the ``certifi`` package installed here ships it) is read, the
    zero-serial ones tolerantly, each verified as self-signed by its own signature."""
    import certifi  # a dev dependency (pyproject.toml): Mozilla's roots as real-world certificates

    from tlsdiag.stores.certs import Cert

    pem = Path(certifi.where()).read_bytes()
    ders = [base64.b64decode(b"".join(block.split())) for block in
            re.findall(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem, re.S)]
    certs = [Cert(der) for der in ders]
    assert len(certs) > 100
    tolerant = [c for c in certs if c.note]
    assert tolerant and all("serial number is zero" in c.note for c in tolerant)
    assert all(c.self_signed.value for c in tolerant)
    assert sum(1 for c in certs if c.self_signed.how == "signature") >= len(certs) - 5


def test_garbage_der_is_refused_not_repaired() -> None:
    from tlsdiag.stores.certs import Cert

    der = td._pki().root
    for bad in (der[:40], b"\x30\x03\x02\x01\x00", b"\x30\x80" + der[2:], b""):
        with pytest.raises(ValueError):
            Cert(bad)


# ---------------------------------------------------------------- losses counted everywhere


def _damage_one_blob(folder: Path) -> str:
    """Make the first certificate of SystemCertificates.reg unreadable; returns the line its Blob starts on."""
    path = folder / "SystemCertificates.reg"
    text = path.read_bytes().decode("utf-16")
    at = text.index('"Blob"=hex:')
    cert_prop = text.index("20,00,00,00,01,00,00,00,", at) + len("20,00,00,00,01,00,00,00,") + 12
    text = text[:cert_prop] + "ff,ff" + text[cert_prop + 5:]  # the DER starts with a bad tag and length
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    return f"line {text[:at].count(chr(10)) + 1}"


@pytest.fixture()
def damaged(tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "FE01"
    shutil.copytree(SAMPLE, folder)
    line = _damage_one_blob(folder / "stores")
    (folder / "stores" / "Broken.reg").write_bytes(td.encode_reg("Windows Registry Editor Version 5.00\r\n\r\n"
                                                                 "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\"
                                                                 "SystemCertificates\\CA]\r\nnot a value line\r\n"))
    return folder, line


def test_scan_counts_store_losses_in_every_view(damaged: tuple[Path, str]) -> None:
    from tlsdiag.report import render_scan
    from tlsdiag.scan import run_scan

    folder, line = damaged
    result = run_scan([folder])
    stores = {Path(f.source).name: f for f in result.summary.files if f.form == "reg"}
    assert [(x.where, x.reason.split(":")[0]) for x in stores["SystemCertificates.reg"].lost] == \
        [(line, "certificate lost")]
    assert stores["Broken.reg"].error and "line 4" in stores["Broken.reg"].error
    assert result.summary.records_lost == 2
    assert result.made  # the events and the rest of the stores still gave the diagnosis

    text = render_scan(result, "text")
    assert "2 lost (2 of them in certificate-store exports)" in text.splitlines()[1]
    assert f"at {line}: certificate lost: certificate does not parse" in text
    assert "Broken.reg (reg, " in text and "UNUSABLE: line 4" in text

    doc = json.loads(render_scan(result, "json"))
    assert doc["stats"]["records_lost"] == 2
    lost = {Path(i["source"]).name: i for i in doc["stats"]["inputs"] if i["form"] == "reg"}
    assert lost["SystemCertificates.reg"]["lost"][0]["where"] == line
    assert lost["Broken.reg"]["error"].startswith("line 4")

    html = render_scan(result, "html")
    assert "2 lost (2 of them in certificate-store exports)" in html and f"{line}: certificate lost" in html

    md = render_scan(result, "markdown")
    assert "2 lost" in md and f"{line}: certificate lost" in md


@pytest.mark.slow
def test_stores_command_names_each_loss(damaged: tuple[Path, str]) -> None:
    folder, line = damaged
    (folder / "stores" / "Broken.reg").unlink()
    run = subprocess.run([sys.executable, "-m", "tlsdiag", "stores", str(folder / "stores")],
                         capture_output=True, text=True, timeout=120, check=False)
    assert "Lost: 1 (read as far as possible" in run.stdout
    assert f"SystemCertificates.reg {line}: certificate lost: certificate does not parse" in run.stdout
    doc = json.loads(subprocess.run([sys.executable, "-m", "tlsdiag", "stores", "--format", "json",
                                     str(folder / "stores")], capture_output=True, text=True, timeout=120,
                                    check=False).stdout)
    [loss] = doc["computers"][0]["lost"]
    assert (loss["where"], loss["item"]) == (line, "certificate")


def test_clean_check_wording_counts_what_it_names(tmp_path: Path) -> None:
    s = td.clean("FE01")
    personal = len({e.thumbprint for e in s.entries if e.store == "MY"})
    every = len({(e.thumbprint) for e in s.entries})
    assert personal < every
    td.write_reg_exports(s, tmp_path / "FE01")
    [snap] = load_stores([tmp_path / "FE01"])
    clean = {f.check: f for f in run_checks(snap, td.DEFAULT_COLLECTED) if f.kind == "clean"}
    why = clean["cert-expired"].why
    assert why.startswith(f"no expired certificate in Personal ({personal} Personal certificate(s) checked at ")
    assert f"; {every} in all stores" in why


def test_no_warning_filter_needed(tmp_path: Path) -> None:
    """This module's mark turns warnings into errors; make sure it is in force (a test that cannot fail
    otherwise would prove nothing)."""
    with pytest.raises(UserWarning):
        warnings.warn("probe", UserWarning, stacklevel=1)


@pytest.mark.slow
def test_certifi_bundle_as_a_root_folder_prints_no_warning(tmp_path: Path) -> None:
    """Mozilla's roots as a certificate folder: every one read (none lost), the zero-serial ones
    listed as read tolerantly, and nothing on stderr although Python shows warnings (-W default)."""
    import certifi  # a dev dependency (pyproject.toml): Mozilla's roots as real-world certificates
    (tmp_path / "Root").mkdir()
    shutil.copy(certifi.where(), tmp_path / "Root" / "cacert.pem")
    count = Path(certifi.where()).read_bytes().count(b"-----BEGIN CERTIFICATE-----")
    run = subprocess.run([sys.executable, "-W", "default", "-m", "tlsdiag", "stores", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.stderr == ""
    assert f"Trusted Root (all physical stores): {count} distinct certificate(s)" in run.stdout
    assert "Lost: 0\n" in run.stdout
    assert re.search(r"Read tolerantly: \d+ certificate\(s\)", run.stdout)


@pytest.mark.slow
def test_tui_overview_names_the_store_loss(damaged: tuple[Path, str]) -> None:
    import asyncio

    from textual.widgets import Static

    from tlsdiag.kb import load_kb
    from tlsdiag.tui.app import TlsdiagApp

    folder, line = damaged
    kb = load_kb()

    async def scenario() -> None:
        app = TlsdiagApp([folder], kb=kb)
        async with app.run_test(size=(120, 40)) as pilot:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while app.result is None or app.scanning:
                assert loop.time() < deadline, "scan did not finish"
                await pilot.pause(0.05)
            await pilot.pause()
            shown = " ".join(str(app.screen.query_one("#read-summary", Static).visual).split())
            assert "2 lost (2 of them in certificate-store exports)" in shown
            assert f"SystemCertificates.reg, {line}: certificate lost: certificate does not parse" in shown
            assert "unusable: " in shown and "Broken.reg" in shown

    asyncio.run(scenario())


def test_scan_json_with_store_losses_matches_the_schema(damaged: tuple[Path, str]) -> None:
    import jsonschema

    from tlsdiag.report import SCHEMA_DIR, render_scan
    from tlsdiag.scan import run_scan

    folder, _ = damaged
    doc = json.loads(render_scan(run_scan([folder]), "json"))
    schema = json.loads((SCHEMA_DIR / "scan.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)


def test_key_clean_lines_say_how_many_they_could_not_check() -> None:
    """Certificate files do not record private keys: a Personal store of known certificates plus one from
    a file is partly unknown, and the clean line counts only what it checked and says how many it could not."""
    from tlsdiag.stores.certs import Cert
    from tlsdiag.stores.model import StoreCert, StoreSnapshot

    s = td.clean("FE01")
    snap = StoreSnapshot("FE01")
    known = [e for e in s.entries if e.store == "MY"]
    for e in known:
        snap.add(StoreCert(Cert(e.der), MACHINE, "MY", True, source="reg"))
    extra = td.make_cert(td.name("Second Server"), td.rsa_key("second-server", 1024), serial=77,
                         not_before=td.T0, not_after=td.T0 + 30 * td.Y, ca=False)
    snap.add(StoreCert(Cert(extra), MACHINE, "MY", None, source="My/second.cer"))
    clean = {f.check: f for f in run_checks(snap, td.DEFAULT_COLLECTED) if f.kind == "clean"}
    assert clean["my-without-private-key"].why == (f"every Personal certificate has a private key ({len(known)} "
                                                   "checked; 1 more whose export does not say whether they have a "
                                                   "key)")


@pytest.mark.slow
def test_scan_of_only_a_damaged_store_export_is_unusable_input(tmp_path: Path) -> None:
    """Beside event logs a damaged export is one lost file; alone it is unusable input: exit 2, one line."""
    bad = tmp_path / "SystemCertificates.reg"
    bad.write_bytes(td.encode_reg("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\"
                                  "Microsoft\\SystemCertificates\\CA]\r\nnot a value line\r\n"))
    run = subprocess.run([sys.executable, "-m", "tlsdiag", "scan", str(bad)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and str(bad) in run.stderr and "line 4" in run.stderr
