"""Store analysis: every planted problem is found in every input form, clean stores stay clean,
the trusted-issuer list size matches an independent computation, damaged input fails clearly."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tlsdiag.cli import main
from tlsdiag.errors import InputError
from tlsdiag.stores import Finding, issuer_list, load_stores, run_checks
from tlsdiag.stores.model import CLIENT_AUTH_ISSUER, MACHINE
from tlsdiag_devkit import storegen as td

FORMS = ("reg", "json", "certs", "hive")
AT = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
# Checks the certificate-file form cannot answer (no private-key flag, no SCHANNEL values).
KEY_CHECKS = {"root-has-private-key", "ca-has-private-key", "my-without-private-key"}
SCHANNEL_CHECKS = {"schannel-workaround-in-place", "schannel-warnings-not-logged", "session-ticket-enabled"}


def write_form(s: td.StoreSet, form: str, folder: Path) -> Path:
    target = folder / s.computer
    if form == "reg":
        td.write_reg_exports(s, target)
    elif form == "json":
        td.write_storejson(s, target / "tlsdiag-stores.json")
    elif form == "certs":
        td.write_cert_folder(s, target)
    else:
        td.write_hives(s, target)
    return folder


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    sets = {"planted": td.planted(), "clean": td.clean(), "many": td.many_roots()}
    out = {}
    for name, s in sets.items():
        for form in FORMS:
            out[(name, form)] = write_form(s, form, tmp_path_factory.mktemp(f"{name}-{form}"))
    return out


def analyse(path: Path) -> tuple[list, list[Finding]]:
    snaps = load_stores([path])
    assert len(snaps) == 1, [s.computer for s in snaps]
    return snaps, run_checks(snaps[0], AT)


def problems(findings: list[Finding], check: str | None = None) -> list[Finding]:
    return [f for f in findings if f.kind == "problem" and (check is None or f.check == check)]


@pytest.mark.slow
@pytest.mark.parametrize("form", FORMS)
def test_every_planted_problem_is_found(exports: dict, form: str) -> None:
    s = td.planted()
    snaps, findings = analyse(exports[("planted", form)])
    assert snaps[0].computer == "FE01"
    found = {(f.check, f.cert.thumbprint) for f in findings if f.cert and f.kind in ("problem", "note")}
    kinds = {(f.check, f.cert.store): f.kind for f in findings if f.cert and f.check == "cert-expired"}
    assert kinds == {("cert-expired", "ROOT"): "note", ("cert-expired", "MY"): "problem"}
    planted_checks = {e.label for e in s.entries} - {"sha1-root", "cross-certificate", ""}
    for label in planted_checks:
        if form == "certs" and label in KEY_CHECKS:
            continue
        for entry in s.labelled(label):
            assert (label, entry.thumbprint) in found, (form, label, entry.store)
    cross = s.labelled("cross-certificate")[0]
    [finding] = [f for f in problems(findings, "root-not-self-signed") if f.cert.thumbprint == cross.thumbprint]
    assert finding.details["decided_by"] == "signature fails with own key"
    assert finding.cert.subject == finding.cert.issuer  # the string comparison would have missed it
    if form != "certs":
        checks = {f.check for f in findings if f.kind in ("problem", "note")}
        assert SCHANNEL_CHECKS <= checks
        gp = [f for f in problems(findings, "root-not-self-signed") if f.cert.location == "group-policy"]
        assert len(gp) == 1 and any("gpupdate" in step.command for step in gp[0].fix)


@pytest.mark.parametrize("form", FORMS)
def test_nothing_found_in_clean_stores(exports: dict, form: str) -> None:
    _, findings = analyse(exports[("clean", form)])
    assert problems(findings) == []
    clean = {f.check for f in findings if f.kind == "clean"}
    expected = {"root-not-self-signed", "root-end-entity", "ca-self-signed", "issuer-list-too-large",
                "root-count-high", "root-duplicate-subject", "cert-expired", "cert-not-yet-valid",
                "server-chain-incomplete"}
    if form != "certs":
        expected |= KEY_CHECKS | SCHANNEL_CHECKS
    assert expected <= clean, expected - clean


def test_sha1_root_is_verified_by_its_own_signature(exports: dict) -> None:
    s = td.clean()
    [entry] = s.labelled("sha1-root")
    snaps, _ = analyse(exports[("clean", "reg")])
    [sc] = [c for c in snaps[0].certs if c.thumbprint == entry.thumbprint]
    assert sc.cert.x509.signature_algorithm_oid.dotted_string == "1.2.840.113549.1.1.5"
    assert (sc.cert.self_signed.value, sc.cert.self_signed.how) == (True, "signature")


# ---------------------------------------------------------------- trusted-issuer list


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end) of the DER element at ``pos``: an independent tiny parser."""
    tag = data[pos]
    first = data[pos + 1]
    if first < 0x80:
        return tag, pos + 2, pos + 2 + first
    n = first & 0x7F
    length = int.from_bytes(data[pos + 2:pos + 2 + n], "big")
    return tag, pos + 2 + n, pos + 2 + n + length


def raw_subject(der: bytes) -> bytes:
    _, cert_body, _ = _tlv(der, 0)
    _, tbs, _ = _tlv(der, cert_body)
    pos = tbs
    tag, _, end = _tlv(der, pos)
    if tag == 0xA0:  # [0] version
        pos = end
    for _ in range(4):  # serial, signature, issuer, validity
        _, _, pos = _tlv(der, pos)
    tag, _, end = _tlv(der, pos)
    assert tag == 0x30
    return der[pos:end]


@pytest.mark.slow
@pytest.mark.parametrize("form", FORMS)
def test_issuer_list_size_matches_independent_computation(exports: dict, form: str) -> None:
    s = td.many_roots()
    snaps, findings = analyse(exports[("many", form)])
    unique = {e.thumbprint: e.der for e in s.entries if e.store in ("ROOT", "AuthRoot")}
    expected = sum(2 + len(raw_subject(der)) for der in unique.values())
    lst = issuer_list(snaps[0])
    assert lst is not None and lst.source == "Trusted Root"
    assert (lst.size, lst.count) == (expected, len(unique))
    assert expected > 16384
    [finding] = problems(findings, "issuer-list-too-large")
    assert finding.details["size"] == expected
    assert any("AuthRoot\\Certificates" in step.command for step in finding.fix)  # KB 2801679's method
    assert problems(findings, "root-count-high")[0].details["count"] == len(unique)


@pytest.mark.slow
def test_client_auth_issuers_replace_the_root_list(exports: dict) -> None:
    s = td.many_roots()
    pki = td._pki()
    s.add(MACHINE, "ClientAuthIssuer", pki.issuing)
    snaps, findings = analyse(write_form(s, "reg", exports[("many", "reg")].parent / "cai"))
    lst = issuer_list(snaps[0])
    assert lst.source == "ClientAuthIssuer" and lst.count == 1
    assert lst.size == 2 + len(raw_subject(pki.issuing))
    assert snaps[0].logical(CLIENT_AUTH_ISSUER)
    assert problems(findings, "issuer-list-too-large") == []


def test_duplicate_root_that_anchors_the_server_chain_is_kept(tmp_path: Path) -> None:
    s = td.clean()
    pki = td._pki()
    rogue = td.make_cert(pki.root_name, td.ec_key("rogue-root"), serial=0x7777, not_before=td.T0,
                         not_after=td.T0 + 10 * td.Y)
    s.add(MACHINE, "ROOT", rogue)
    _, findings = analyse(write_form(s, "json", tmp_path))
    [dup] = problems(findings, "root-duplicate-subject")
    assert dup.cert.thumbprint == td.thumbprint(rogue)
    assert dup.details["anchor"] == td.thumbprint(pki.root)
    assert dup.cause == "pin-signin-duplicate-root"


# ---------------------------------------------------------------- reg export details and damage


def test_reg_export_is_utf16_like_reg_exe(exports: dict) -> None:
    data = (exports[("planted", "reg")] / "FE01" / "SystemCertificates.reg").read_bytes()
    assert data[:2] == b"\xff\xfe"
    text = data[2:].decode("utf-16-le")
    assert text.startswith("Windows Registry Editor Version 5.00\r\n")
    lines = text.split("\r\n")
    assert all(len(line) <= 80 for line in lines if not line.startswith("["))
    assert any(line.startswith('"Blob"=hex:') and line.endswith("\\") for line in lines)
    assert any(line.startswith("  ") and line.endswith("\\") for line in lines)


def test_regedit4_utf8_export_reads_the_same(tmp_path: Path, exports: dict) -> None:
    source = exports[("planted", "reg")] / "FE01"
    target = tmp_path / "FE01"
    target.mkdir()
    for path in source.iterdir():
        data = path.read_bytes()
        if path.suffix == ".reg":
            text = data[2:].decode("utf-16-le").replace("Windows Registry Editor Version 5.00", "REGEDIT4")
            data = text.encode("utf-8")
        (target / path.name).write_bytes(data)
    a = sorted((f.check, f.cert.thumbprint if f.cert else "") for f in problems(analyse(source)[1]))
    b = sorted((f.check, f.cert.thumbprint if f.cert else "") for f in problems(analyse(target)[1]))
    assert a == b and a


def _damage(tmp_path: Path, exports: dict, edit) -> Path:
    src = exports[("clean", "reg")] / "FE01" / "SystemCertificates.reg"
    text = src.read_bytes()[2:].decode("utf-16-le")
    bad = tmp_path / "SystemCertificates.reg"
    bad.write_bytes(td.encode_reg(edit(text)))
    return bad


def test_damaged_reg_names_file_and_line(tmp_path: Path, exports: dict, capsys: pytest.CaptureFixture) -> None:
    def bad_hex(text: str) -> str:
        lines = text.split("\r\n")
        n = next(i for i, line in enumerate(lines) if line.startswith("  "))
        lines[n] = "  zz" + lines[n][4:]
        bad_hex.line = n + 1  # type: ignore[attr-defined]
        return "\r\n".join(lines)

    bad = _damage(tmp_path, exports, bad_hex)
    with pytest.raises(InputError) as err:
        load_stores([bad])
    assert str(bad) in str(err.value) and f"line {bad_hex.line}" in str(err.value)  # type: ignore[attr-defined]
    assert main(["stores", str(bad)]) == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and str(bad) in stderr and "line" in stderr


def test_truncated_reg_names_file_and_line(tmp_path: Path, exports: dict) -> None:
    def truncate(text: str) -> str:
        cut = text.index('"Blob"=hex:')
        end = text.index("\\\r\n", cut) + 3
        return text[:end]

    bad = _damage(tmp_path, exports, truncate)
    with pytest.raises(InputError, match=r"line \d+: value continues past the end"):
        load_stores([bad])


def test_thumbprint_mismatch_and_broken_blob_are_warnings(tmp_path: Path, exports: dict) -> None:
    pki = td._pki()
    good = td.thumbprint(pki.root)

    def rename(text: str) -> str:
        return text.replace(f"Certificates\\{good}]", "Certificates\\" + "0" * 40 + "]")

    bad = _damage(tmp_path, exports, rename)
    snaps = load_stores([bad])
    assert any("thumbprint mismatch" in w for w in snaps[0].warnings)
    assert any(c.thumbprint == good for c in snaps[0].certs)  # still read, by its real thumbprint


def test_blob_lengths_are_bounds_checked() -> None:
    from tlsdiag.stores.blob import build_blob, parse_blob

    der = td._pki().root
    blob = bytearray(build_blob(der, private_key=True, friendly_name="x"))
    assert parse_blob(bytes(blob)).der == der and parse_blob(bytes(blob)).has_private_key
    blob[8:12] = (0xFFFFFFF0).to_bytes(4, "little")  # first property claims ~4 GB
    parsed = parse_blob(bytes(blob))
    assert parsed.der is None and "claims" in parsed.problems[0]
    assert parse_blob(b"\x20\x00\x00").problems


def test_blob_parser_never_raises_on_random_bytes() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from tlsdiag.stores.blob import parse_blob

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=200))
    def check(data: bytes) -> None:
        parse_blob(data)

    check()


# ---------------------------------------------------------------- hives


def test_damaged_hive_names_file_and_offset(tmp_path: Path, exports: dict) -> None:
    software = exports[("clean", "hive")] / "FE01" / "SOFTWARE"
    data = bytearray(software.read_bytes())
    data[100] ^= 0xFF  # header byte: checksum no longer matches
    bad = tmp_path / "SOFTWARE"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"offset 0x1fc: header checksum"):
        load_stores([bad])
    data = bytearray(software.read_bytes())
    data[4096:4100] = b"xxxx"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"offset 0x1000: no 'hbin'"):
        load_stores([bad])
    bad.write_bytes(software.read_bytes()[:5000])
    with pytest.raises(InputError, match=str(bad)):
        load_stores([bad])


def test_hive_reads_select_current_control_set(tmp_path: Path) -> None:
    s = td.clean()
    s.schannel = {"EnableSessionTicket": 2, "EventLogging": 7}
    folder = write_form(s, "hive", tmp_path)
    snaps = load_stores([folder])
    assert snaps[0].schannel == {"EnableSessionTicket": 2, "EventLogging": 7}
    assert snaps[0].os_build == 9200


# ---------------------------------------------------------------- collector JSON schema


COLLECTOR_JSON = """\ufeff{
    "Format":  "tlsdiag-stores",
    "Version":  1,
    "ComputerName":  "LYNCFE01",
    "CollectedUtc":  "2026-11-20T09:30:00.1234567Z",
    "OSBuild":  "9600",
    "Stores":  [
                   {
                       "Location":  "machine",
                       "Name":  "Root",
                       "Certificates":  {
                                            "Thumbprint":  "%(root_thumb)s",
                                            "Subject":  "CN=Contoso Root CA, O=Contoso Ltd, C=US",
                                            "Issuer":  "CN=Contoso Root CA, O=Contoso Ltd, C=US",
                                            "HasPrivateKey":  false,
                                            "FriendlyName":  "",
                                            "RawData":  "%(root)s"
                                        }
                   },
                   {
                       "Location":  "group-policy",
                       "Name":  "Root",
                       "Certificates":  [
                                            {
                                                "Thumbprint":  "%(ica_thumb)s",
                                                "Subject":  "CN=Contoso Issuing CA 02",
                                                "Issuer":  "CN=Contoso Root CA",
                                                "HasPrivateKey":  false,
                                                "FriendlyName":  null,
                                                "RawData":  "%(ica)s"
                                            }
                                        ]
                   },
                   {
                       "Location":  "machine",
                       "Name":  "My",
                       "Certificates":  [ ]
                   }
               ],
    "Schannel":  {
                     "ClientAuthTrustMode":  2
                 },
    "Errors":  [ ]
}
"""


def test_collector_json_as_powershell3_writes_it(tmp_path: Path) -> None:
    """The documented schema (collector/README.md), shaped like PowerShell 3's ConvertTo-Json:
    UTF-8 BOM, a one-element array collapsed to an object, null FriendlyName."""
    import base64

    pki = td._pki()
    text = COLLECTOR_JSON % {"root": base64.b64encode(pki.root).decode(), "root_thumb": td.thumbprint(pki.root),
                             "ica": base64.b64encode(pki.issuing).decode(), "ica_thumb": td.thumbprint(pki.issuing)}
    path = tmp_path / "LYNCFE01" / "tlsdiag-stores.json"
    path.parent.mkdir()
    path.write_bytes(text.encode("utf-8"))
    [snap] = load_stores([tmp_path])
    assert (snap.computer, snap.os_build) == ("LYNCFE01", 9600)
    assert snap.collected == datetime(2026, 11, 20, 9, 30, 0, 123456, tzinfo=timezone.utc)
    findings = run_checks(snap)
    [f] = problems(findings, "root-not-self-signed")
    assert (f.cert.location, f.cert.store, f.cert.thumbprint) == ("group-policy", "ROOT", td.thumbprint(pki.issuing))
    assert snap.schannel == {"ClientAuthTrustMode": 2}


def test_collector_script_writes_the_fields_the_reader_reads() -> None:
    script = (Path(__file__).resolve().parents[2] / "collector" / "Collect-TlsDiag.ps1").read_text("utf-8")
    for field in ("'tlsdiag-stores'", "Version", "ComputerName", "CollectedUtc", "OSBuild", "Stores", "Location",
                  "Name", "Certificates", "Thumbprint", "HasPrivateKey", "RawData", "FriendlyName", "Schannel",
                  "Errors", "ClientAuthTrustMode", "SendTrustedIssuerList", "EnableSessionTicket", "EventLogging"):
        assert field in script, field
    cmd = (Path(__file__).resolve().parents[2] / "collector" / "collect-tlsdiag.cmd").read_text("utf-8")
    for key in (r"HKLM\SOFTWARE\Microsoft\SystemCertificates", r"HKLM\SOFTWARE\Policies\Microsoft\SystemCertificates",
                r"HKLM\SOFTWARE\Microsoft\EnterpriseCertificates",
                r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL"):
        assert f'call :regexport "{key}"' in cmd, key
    assert 'reg export "%~1" "%OUT%\\%~2" /y' in cmd
    for name in td.REG_FILES.values():
        assert name in cmd, name


# ---------------------------------------------------------------- inputs, zips, CLI


def test_zipped_collection_and_inputfile_objects(tmp_path: Path, exports: dict) -> None:
    folder = exports[("planted", "reg")] / "FE01"
    archive = tmp_path / "FE01.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"FE01/{path.name}")
    [snap] = load_stores([archive])
    assert snap.computer == "FE01" and snap.collected == AT
    from tlsdiag.inputs import discover

    [snap2] = load_stores(discover([archive]))
    assert {c.thumbprint for c in snap.certs} == {c.thumbprint for c in snap2.certs}


def test_cli_exit_codes_and_formats(exports: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["stores", str(exports[("clean", "reg")])]) == 0
    capsys.readouterr()
    assert main(["stores", "--format", "json", str(exports[("planted", "json")])]) == 1
    doc = json.loads(capsys.readouterr().out)
    [computer] = doc["computers"]
    problems = [f for f in doc["findings"] if f["kind"] == "problem"]
    assert computer["issuer_list"]["size"] > 0 and {f["computer"] for f in doc["findings"]} == {computer["computer"]}
    assert {f["severity"] for f in problems} >= {"error"}  # the planted stores hold errors
    assert not set(computer["clean_checks"]) & {f["check"] for f in problems}  # a check is clean or it found
    assert main(["stores", "--format", "markdown", str(exports[("planted", "hive")]), "--at",
                 "2026-11-20T09:30:00Z"]) == 1
    md = capsys.readouterr().out
    for entry in td.planted().labelled("root-not-self-signed"):
        assert entry.thumbprint in md
    junk = tmp_path / "junk.reg"
    junk.write_text("hello")
    assert main(["stores", str(junk)]) == 2


def test_certificate_text_is_made_safe(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    s = td.clean()
    evil = td.make_cert(td.name("evil\x1b]0;pwned\x07\x1b[31m.contoso.local"), td.ec_key("evil"),
                        issuer=td._pki().issuing_name, issuer_key=td._pki().issuing_key, serial=0x6666,
                        not_before=td.T0, not_after=td.T0 + 30 * td.Y, ca=True)
    s.add(MACHINE, "ROOT", evil)
    folder = write_form(s, "reg", tmp_path)
    assert main(["stores", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b" in out


@pytest.mark.slow
def test_sample_writer_is_deterministic(tmp_path: Path) -> None:
    for scenario in ("lync2013-fe-root-store", "trusted-issuer-list-16kb", "healthy-server"):
        a = td.write_sample_stores(scenario, tmp_path / "a" / scenario, forms=("reg", "json", "certs", "hive"))
        b = td.write_sample_stores(scenario, tmp_path / "b" / scenario, forms=("reg", "json", "certs", "hive"))
        assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_lync_sample_names_the_three_misplaced_certificates(tmp_path: Path) -> None:
    folder = tmp_path / "lync"
    td.write_sample_stores("lync2013-fe-root-store", folder)
    [snap] = load_stores([folder])
    findings = problems(run_checks(snap), "root-not-self-signed")
    planted = {e.thumbprint for e in td.lync_root_store().labelled("root-not-self-signed")}
    assert {f.cert.thumbprint for f in findings} == planted and len(planted) == 3
    destinations = []
    for f in findings:
        assert f.cause == "root-store-non-self-signed"
        commands = " ".join(step.command for step in f.fix)
        assert f"Export-Certificate -Cert Cert:\\LocalMachine\\Root\\{f.cert.thumbprint}" in commands
        move = f"Move-Item -Path Cert:\\LocalMachine\\Root\\{f.cert.thumbprint} -Destination Cert:\\LocalMachine\\"
        assert move in commands
        destinations.append(commands.split(move, 1)[1].split()[0])
    # the two intermediate CAs go to Intermediate, the server certificate with its key to Personal
    assert sorted(destinations) == ["CA", "CA", "My"]


@pytest.mark.slow
@pytest.mark.parametrize("form", ["hive", "reg"])
def test_random_damage_gives_input_error_or_warnings_never_a_crash(exports: dict, form: str) -> None:
    """Flip bytes past the header of a real export: the reader either reads it (damage inside a
    certificate becomes a warning) or refuses it with InputError; nothing else escapes."""
    import random

    from tlsdiag.stores.hive import read_hive
    from tlsdiag.stores.model import StoreSnapshot
    from tlsdiag.stores.regfile import read_reg

    folder = exports[("planted", form)] / "FE01"
    path, reader, start = ((folder / "SOFTWARE", read_hive, 4096) if form == "hive" else
                           (folder / "SystemCertificates.reg", read_reg, 2))
    data = path.read_bytes()
    rnd = random.Random(4)
    outcomes = set()
    for _ in range(60):
        damaged = bytearray(data)
        for _ in range(rnd.randint(1, 6)):
            damaged[rnd.randrange(start, len(damaged))] = rnd.randrange(256)
        snapshot = StoreSnapshot("x")
        try:
            reader(bytes(damaged), str(path), snapshot)
            run_checks(snapshot, AT)
            outcomes.add("read")
        except InputError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            outcomes.add("refused")
    assert outcomes  # both kinds occur for these seeds; the point is that nothing else is raised


def test_collector_json_keys_match_case_insensitively(tmp_path: Path) -> None:
    import base64

    pki = td._pki()
    doc = {"computer": "fe01", "stores": [{"location": "machine", "name": "root", "certificates": [
        {"thumbprint": td.thumbprint(pki.issuing), "rawdata": base64.b64encode(pki.issuing).decode()}]}]}
    path = tmp_path / "fe01" / "stores.json"
    path.parent.mkdir()
    path.write_text(json.dumps(doc))
    [snap] = load_stores([path])
    [f] = problems(run_checks(snap, AT), "root-not-self-signed")
    assert (snap.computer, f.cert.thumbprint, f.cert.has_private_key) == ("fe01", td.thumbprint(pki.issuing), None)
    path.write_text(json.dumps({**doc, "Format": "something-else"}))
    with pytest.raises(InputError, match="not a tlsdiag store collection"):
        load_stores([path])


def test_triage_tree_reads_software_and_system_only(tmp_path: Path, exports: dict) -> None:
    """A forensic triage copy of System32\\config: SAM, NTUSER.DAT-like hives, transaction logs and
    RegBack copies sit beside SOFTWARE and SYSTEM; only the two hives are read."""
    config = tmp_path / "FE01" / "C" / "Windows" / "System32" / "config"
    (config / "RegBack").mkdir(parents=True)
    source = exports[("planted", "hive")] / "FE01"
    for name in ("SOFTWARE", "SYSTEM"):
        (config / name).write_bytes((source / name).read_bytes())
    other = td.HiveWriter("SAM-root")
    other.set("SAM\\Domains", "x", td.REG_DWORD, b"\1\0\0\0")
    (config / "SAM").write_bytes(other.build())
    (config / "SOFTWARE.LOG1").write_bytes(b"regf" + b"\0" * 600)  # a transaction log also starts with regf
    stale = td.clean()
    td.write_hives(stale, config / "RegBack")
    [snap] = load_stores([tmp_path])
    assert snap.computer == "FE01"
    assert sorted(Path(s).name for s in snap.sources) == ["SOFTWARE", "SYSTEM"]
    assert problems(run_checks(snap, AT), "root-not-self-signed")
    with pytest.raises(InputError, match="neither certificate stores"):
        load_stores([config / "SAM"])  # named explicitly: told why it is of no use


def test_collection_note_times_are_utc() -> None:
    from tlsdiag.stores.load import parse_wmi_time

    assert parse_wmi_time("20261120103000.500000+060\r") == datetime(2026, 11, 20, 9, 30, 0, 500000,
                                                                        tzinfo=timezone.utc)
    assert parse_wmi_time("20261120043000.000000-300") == datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
    assert parse_wmi_time("not a time") is None


def test_chain_through_an_expired_intermediate_is_incomplete(tmp_path: Path) -> None:
    s = td.clean()
    pki = td._pki()
    old_ca_name = td.name("Contoso Issuing CA 00", o="Contoso Ltd", c="US")
    old_ca_key = td.ec_key("issuing-0")
    s.add(MACHINE, "CA", td.make_cert(old_ca_name, old_ca_key, issuer=pki.root_name, issuer_key=pki.root_key,
                                      serial=0x2000, not_before=td.T0, not_after=datetime(2020, 1, 1,
                                                                                         tzinfo=timezone.utc)))
    leaf = td.make_cert(td.name("web.contoso.local"), td.ec_key("web"), issuer=old_ca_name, issuer_key=old_ca_key,
                        serial=0x3333, not_before=datetime(2019, 1, 1, tzinfo=timezone.utc),
                        not_after=datetime(2030, 1, 1, tzinfo=timezone.utc), ca=False, eku=td.SERVER_AUTH)
    s.add(MACHINE, "MY", leaf, key=True)
    _, findings = analyse(write_form(s, "json", tmp_path))
    [f] = problems(findings, "server-chain-incomplete")
    assert f.cert.thumbprint == td.thumbprint(leaf) and "Contoso Issuing CA 00" in f.why
    assert [n.cert.store for n in findings if n.kind == "note" and n.check == "cert-expired"] == ["CA"]


@pytest.mark.parametrize(("build", "kind", "severity"), [(9600, "problem", "warning"), (None, "problem", "info"),
                                                         (9200, "note", "info")])
def test_session_tickets_matter_on_2012_r2_only(build: int | None, kind: str, severity: str) -> None:
    from tlsdiag.stores.model import StoreSnapshot

    snap = StoreSnapshot("FE01", schannel_collected=True, os_build=build)
    [f] = [f for f in run_checks(snap, AT) if f.check == "session-ticket-enabled"]
    assert (f.kind, f.severity, f.cause if kind == "problem" else None) == (
        kind, severity, "ws2012r2-session-tickets" if kind == "problem" else None)
    snap.schannel["EnableSessionTicket"] = 2
    assert [f.kind for f in run_checks(snap, AT) if f.check == "session-ticket-enabled"] == ["clean"]


@pytest.mark.slow
@pytest.mark.parametrize("year", [2013, 2026])
def test_sample_scenarios_fit_their_collection_year(tmp_path: Path, year: int) -> None:
    """Samples carry logs from 2013; their certificates must be valid then (and in any other year)."""
    at = datetime(year, 6, 12, 21, tzinfo=timezone.utc)
    expected = {"healthy-server": set(), "lync2013-fe-root-store": {"root-not-self-signed", "root-has-private-key",
                                                                    "root-end-entity"},
                "trusted-issuer-list-16kb": {"issuer-list-too-large", "root-count-high"}}
    for scenario, checks in expected.items():
        folder = tmp_path / scenario
        td.write_sample_stores(scenario, folder, collected=at)
        [snap] = load_stores([folder])
        assert snap.collected == at
        found = {f.check for f in run_checks(snap) if f.is_problem}
        assert found == checks, (scenario, found)


def _resign(der: bytes, key, oid_last: int, hash_algo) -> bytes:
    """Re-sign an RSA/SHA-256 certificate under another sha*WithRSA OID (last OID byte), like old roots."""
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives.asymmetric import padding

    old = bytes.fromhex("300d06092a864886f70d01010b0500")
    new = old[:-3] + bytes([oid_last]) + old[-2:]
    tbs = cx509.load_der_x509_certificate(der).tbs_certificate_bytes.replace(old, new)
    signature = key.sign(tbs, padding.PKCS1v15(), hash_algo) if hash_algo else b"\x01" * 128
    return td._tlv(0x30, tbs + new + td._tlv(0x03, b"\x00" + signature))


def test_md5_roots_and_key_identifier_fallback() -> None:
    from cryptography.hazmat.primitives import hashes

    from tlsdiag.stores.certs import Cert

    key = td.rsa_key("legacy-root", 1024)
    subject = td.name("Very Old Root")
    base = td.make_cert(subject, key, serial=5, not_before=td.T0, not_after=td.T0 + td.Y)
    md5 = Cert(_resign(base, key, 0x04, hashes.MD5()))  # noqa: S303 - an MD5 root, as old stores hold
    assert (md5.self_signed.value, md5.self_signed.how) == (True, "signature")
    forged = Cert(_resign(base, td.rsa_key("someone-else", 1024), 0x04, hashes.MD5()))  # noqa: S303
    assert (forged.self_signed.value, forged.self_signed.how) == (False, "signature fails with own key")
    unknown = Cert(_resign(base, key, 0x7F, None))  # an algorithm nobody can verify: key identifiers decide
    assert (unknown.self_signed.value, unknown.self_signed.how) == (True, "key identifiers")
    # names equal, algorithm unverifiable, authority key id names another key: not self-signed
    other = td.make_cert(subject, key, issuer_key=td.rsa_key("someone-else", 1024), serial=6, not_before=td.T0,
                         not_after=td.T0 + td.Y)
    cross = Cert(_resign(other, key, 0x7F, None))
    assert (cross.self_signed.value, cross.self_signed.how) == (False, "key identifiers")


def test_enterprise_and_policy_certificates_are_fixed_at_their_source(tmp_path: Path) -> None:
    from tlsdiag.stores.model import ENTERPRISE, GROUP_POLICY

    s = td.clean()
    pki = td._pki()
    s.add(ENTERPRISE, "ROOT", pki.issuing)
    s.add(GROUP_POLICY, "CA", td.make_cert(td.name("Policy Root"), td.ec_key("policy-root"), serial=0x4444,
                                           not_before=td.T0, not_after=td.T0 + 20 * td.Y))
    _, findings = analyse(write_form(s, "reg", tmp_path))
    [ent] = problems(findings, "root-not-self-signed")
    commands = [step.command for step in ent.fix]
    assert ent.cert.location == "enterprise"
    assert rf"certutil -dspublish -f C:\tlsdiag-backup\{ent.cert.thumbprint}.cer SubCA" in commands
    assert any("CN=Certification Authorities" in c for c in commands)
    assert not any(c.startswith("Move-Item") for c in commands)  # a local move would come back
    [gp] = problems(findings, "ca-self-signed")
    assert gp.cert.location == "group-policy" and "gpupdate /target:computer /force" in [st.command for st in gp.fix]
