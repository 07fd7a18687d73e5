"""A pool's collections are joined by computer (review H2).

Three servers collected as the collectors lay them out (collector/README.md), each zipped on its own:
two front ends and an Edge server whose DNS host label is longer than a NetBIOS name. The event logs
name computers by DNS name, the collections by NetBIOS name (plus, from the current collectors, the
DNS host name and domain). The scan must put each server's store proof beside its own events and must
not claim that an export "does not name its computer" because its folder carries the same name.
Everything is written with the project's own writers (tlsdiag_devkit: evtxwrite, storegen).
"""

from __future__ import annotations

import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tlsdiag.scan import run_scan
from tlsdiag.stores import load_stores
from tlsdiag.stores.naming import RecordedName, join_computer
from tlsdiag_devkit import storegen as testdata
from tlsdiag_devkit.evtxwrite import evtx_bytes
from tlsdiag_devkit.samplegen import facts as F  # the sample generator's event factories (sourced there)

FE01 = "LyncFE01.contoso.local"
FE02 = "LyncFE02.contoso.local"
EDGE = "LYNC2013-EDGEPOOL01.perimeter.contoso.com"  # NetBIOS name: LYNC2013-EDGEPO (15 characters)
T0 = datetime(2026, 11, 18, 8, 0, tzinfo=timezone.utc)
COLLECTED = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


def _root_store_events(fe: str) -> tuple[bytes, bytes]:
    """(Lync Server.evtx, System.evtx) of a front end whose peers' certificates chain to an untrusted root."""
    lync, system = [], []
    for i in range(6):
        t = T0 + timedelta(minutes=20 * i)
        lync.append(F.lync("LS MCU Infrastructure", 61029, 2, t, fe, [
            f"30.00{i:010d}", "RtcHost(6756)", "1", fe, f"10.0.10.21:{50000 + i}",
            f"CN={fe}, OU=IT, O=Contoso, L=Redmond, S=Washington, C=US", "0x800B0109 (CERT_E_UNTRUSTEDROOT)"]))
        lync.append(F.lync("LS User Services", 32042, 2, t + timedelta(minutes=4), fe, [fe, "Contoso-CA"],
                           binary=bytes.fromhex("58F394811E8A59869733")))
        system.append(F.schannel_36874(t + timedelta(minutes=1), fe, "TLS 1.2"))
    return evtx_bytes(lync), evtx_bytes(system)


def _issuer_list_events(edge: str) -> bytes:
    """System.evtx of a server that sends a trusted-issuer list too large for the handshake."""
    specs = []
    for i in range(6):
        t = T0 + timedelta(minutes=15 * i)
        specs.append(F.schannel_36887(t, edge, 47))
        specs.append(F.schannel_36885(t + timedelta(seconds=2), edge))
    return evtx_bytes(specs)


def _zip(path: Path, folder: str, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(f"{folder}/{name}", data)
    return path


def _files(write, s: testdata.StoreSet, tmp: Path, **options) -> dict[str, bytes]:
    out = tmp / s.computer
    written = write(s, out, **options)
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in (written if isinstance(written, list) else [written])}


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    tmp = tmp_path_factory.mktemp("pool")
    # FE01: the PowerShell collector's layout (stores JSON with DNS names, manifest, logs), in the
    # collector's own timestamped folder name.
    fe01 = testdata.planted(FE01, COLLECTED)
    lync1, system1 = _root_store_events(FE01)
    members = {"tlsdiag-stores.json": testdata.write_storejson(fe01, tmp / "fe01.json", dns=True).read_bytes(),
               "tlsdiag-manifest.json": testdata.write_manifest(
                   fe01, tmp / "fe01-manifest.json",
                   folder=r"C:\Users\admin\AppData\Local\Temp\tlsdiag-LYNCFE01-20261120-093000").read_bytes(),
               "Lync Server.evtx": lync1, "System.evtx": system1}
    zips = [_zip(tmp / "FE01.zip", "tlsdiag-LYNCFE01-20261120-093000", members)]
    # FE02: the .cmd collector's layout from before the DNS names were recorded, in a folder named
    # exactly like the computer: the case the folder test used to call "unnamed".
    fe02 = testdata.clean(FE02, COLLECTED)
    lync2, system2 = _root_store_events(FE02)
    members = _files(testdata.write_reg_exports, fe02, tmp)
    members.update({"Lync Server.evtx": lync2, "System.evtx": system2})
    zips.append(_zip(tmp / "FE02.zip", "LYNCFE02", members))
    # Edge: .cmd layout with the DNS names; its host label is longer than 15 characters.
    edge = testdata.many_roots(EDGE, COLLECTED)
    members = _files(testdata.write_reg_exports, edge, tmp, dns=True)
    members["System.evtx"] = _issuer_list_events(EDGE)
    zips.append(_zip(tmp / "EDGE01.zip", "LYNC2013-EDGEPO", members))
    return zips


@pytest.fixture(scope="module")
def scanned(pool: list[Path]):
    return run_scan(pool)


def _all_notes(result) -> list[str]:
    return list(result.notes) + [n for d in result.diagnoses for n in d.notes]


@pytest.mark.slow
def test_store_proof_sits_beside_each_servers_events(scanned) -> None:
    by = {(d.computer, d.cause.id): d for d in scanned.diagnoses}
    root1 = by.get((FE01, "root-store-non-self-signed"))
    assert root1 is not None, sorted(by)
    assert root1.store == "proven" and root1.evidence, (root1.store, root1.notes)
    assert {f.check for f in root1.store_findings} >= {"root-not-self-signed"}
    # FE02 has the same symptoms but clean stores: its own clean export rules the cause out there.
    root2 = by.get((FE02, "root-store-non-self-signed"))
    assert root2 is not None and root2.store == "ruled_out", (root2 and root2.notes, sorted(by))
    issuer = by.get((EDGE, "trusted-issuer-list-too-large"))
    assert issuer is not None, sorted(by)
    assert issuer.store == "proven" and issuer.evidence, issuer.notes


def test_no_pseudo_computer_and_no_false_unnamed_note(scanned) -> None:
    assert {d.computer for d in scanned.diagnoses} <= {FE01, FE02, EDGE}, {d.computer for d in scanned.diagnoses}
    assert not any("does not name its computer" in n for n in _all_notes(scanned)), _all_notes(scanned)


def test_the_manifest_is_reported(scanned) -> None:
    notes = [n for n in scanned.notes if n.startswith("Collection of LYNCFE01 by Collect-TlsDiag.ps1")]
    assert len(notes) == 1, scanned.notes
    assert "the last 30 day(s)" in notes[0] and "tlsdiag-LYNCFE01-20261120-093000" in notes[0]
    assert "Microsoft-Windows-CAPI2/Operational: exported" in notes[0] and "disabled" in notes[0]
    assert "Microsoft-Windows-WindowsFabric/Admin: not-present, exit code 15007" in notes[0]


def test_one_server_in_its_own_named_folder_gets_no_unnamed_note(pool: list[Path]) -> None:
    result = run_scan([pool[1]])
    assert {d.computer for d in result.diagnoses} == {FE02}
    assert not any("does not name its computer" in n for n in _all_notes(result)), _all_notes(result)


def test_a_name_taken_from_the_folder_is_still_called_unnamed(tmp_path: Path) -> None:
    """Reg exports without the collection note: the only name there is is the folder's."""
    s = testdata.clean("LYNCFE03", COLLECTED)
    written = testdata.write_reg_exports(s, tmp_path / "LYNCFE03")
    for path in written:
        if path.name == "tlsdiag-collection.txt":
            path.unlink()
    (snap,) = load_stores([tmp_path / "LYNCFE03"])
    assert snap.computer == "LYNCFE03" and not snap.named
    named = testdata.write_reg_exports(s, tmp_path / "other" / "LYNCFE03")
    (snap,) = load_stores([named[0].parent])
    assert snap.named


@pytest.mark.parametrize(("recorded", "seen", "expected", "rule"), [
    (RecordedName("LYNCFE01", "LyncFE01", "contoso.local"), [FE01, FE02], FE01, "dns-name"),
    (RecordedName("LYNCFE01"), [FE01, FE02], FE01, "netbios-label"),
    (RecordedName("LYNC2013-EDGEPO"), [EDGE, FE01], EDGE, "netbios-label"),
    (RecordedName("LYNC2013-EDGEPO", "LYNC2013-EDGEPOOL01"), ["lync2013-edgepool01", FE01],
     "lync2013-edgepool01", "host-name"),
    (RecordedName("LYNCFE01", "LyncFE01", "contoso.local"), ["LyncFE01.fabrikam.local"], None, "none"),
    (RecordedName("LYNCFE01"), ["LyncFE01.contoso.local", "lyncfe01.fabrikam.local"], None, "ambiguous"),
    (RecordedName("LYNC2013-FRONTE"), ["LYNC2013-FRONTEND01.contoso.local", "LYNC2013-FRONTEND02.contoso.local"],
     None, "ambiguous"),
    (RecordedName("LYNC2013-FRONTE", "LYNC2013-FRONTEND02", "contoso.local"),
     ["LYNC2013-FRONTEND01.contoso.local", "LYNC2013-FRONTEND02.contoso.local"],
     "LYNC2013-FRONTEND02.contoso.local", "dns-name"),
])
def test_join_rules(recorded: RecordedName, seen: list[str], expected: str | None, rule: str) -> None:
    joined = join_computer(recorded, seen)
    assert (joined.computer, joined.rule) == (expected, rule)


def test_two_front_ends_cut_to_one_netbios_name_are_not_guessed(tmp_path: Path) -> None:
    """An old collection (NetBIOS name only) of one of two hosts whose labels share 15 characters."""
    a, b = "LYNC2013-FRONTEND01.contoso.local", "LYNC2013-FRONTEND02.contoso.local"
    s = testdata.planted(a, COLLECTED)
    members = {"tlsdiag-stores.json": testdata.write_storejson(s, tmp_path / "a.json").read_bytes(),
               "System.evtx": evtx_bytes([F.schannel_36874(T0, a), F.schannel_36874(T0, b)])}
    result = run_scan([_zip(tmp_path / "a.zip", "tlsdiag-LYNC2013-FRONTE-20261120-093000", members)])
    assert any("fits several computers" in n for n in result.notes), result.notes
    proven = [d for d in result.diagnoses if d.store == "proven"]
    assert proven and {d.computer for d in proven} == {"LYNC2013-FRONTE"}, [(d.computer, d.cause.id) for d in proven]


def test_a_damaged_manifest_costs_nothing_else(tmp_path: Path) -> None:
    s = testdata.clean(FE01, COLLECTED)
    folder = tmp_path / "tlsdiag-LYNCFE01-20261120-093000"
    testdata.write_storejson(s, folder / "tlsdiag-stores.json", dns=True)
    (folder / "tlsdiag-manifest.json").write_bytes(b'{"Format": "tlsdiag-manifest", "Version": 1, "Logs": [')
    (snap,) = load_stores([folder])
    assert snap.manifest is None and snap.certs
    assert any("tlsdiag-manifest.json" in w and "invalid JSON" in w for w in snap.warnings), snap.warnings
    assert (snap.computer, snap.dns_host, snap.dns_domain) == ("LYNCFE01", "LyncFE01", "contoso.local")


def test_a_manifest_inside_a_zip_is_read(pool: list[Path]) -> None:
    with zipfile.ZipFile(pool[0]) as zf:
        names = zf.namelist()
    assert any(n.endswith("/tlsdiag-manifest.json") for n in names)
    snaps = load_stores([pool[0]])
    assert [s.manifest is not None for s in snaps] == [True]
    assert snaps[0].manifest.days == 30 and snaps[0].manifest.logs[1].enabled is False




def test_offline_hives_carry_the_dns_names(tmp_path: Path) -> None:
    """A triage collection's SYSTEM hive: ComputerName plus Tcpip\\Parameters Hostname and Domain."""
    s = testdata.many_roots(EDGE, COLLECTED, count=3)
    testdata.write_hives(s, tmp_path / "LYNC2013-EDGEPO", dns=True)
    (snap,) = load_stores([tmp_path / "LYNC2013-EDGEPO"])
    assert (snap.computer, snap.named) == ("LYNC2013-EDGEPO", True)
    assert (snap.dns_host, snap.dns_domain) == ("LYNC2013-EDGEPOOL01", "perimeter.contoso.com")


def test_join_on_the_computer_names_of_the_real_corpus(corpus_dir: Path) -> None:
    """Every Computer value of the real .evtx corpus (first 50 records per file) is found again from what a
    collector on that machine records: with the DNS names, and with the NetBIOS name alone."""
    import json

    import evtx

    names: set[str] = set()
    for path in sorted(corpus_dir.rglob("*.evtx")):
        try:
            for n, record in enumerate(evtx.PyEvtxParser(str(path)).records_json()):
                if n >= 50:
                    break
                computer = json.loads(record["data"])["Event"]["System"].get("Computer")
                if isinstance(computer, str) and computer.strip():
                    names.add(computer.strip())
        except (OSError, RuntimeError, ValueError):
            continue  # the corpus holds damaged files on purpose
    assert len(names) >= 20, sorted(names)
    assert any("." in n for n in names) and any("." not in n for n in names)  # both forms occur
    for name in sorted(names):
        host, _, domain = name.partition(".")
        full = join_computer(RecordedName(testdata.netbios(name), host, domain), names)
        assert full.computer == name, (name, full)
        short = join_computer(RecordedName(testdata.netbios(name)), names)
        assert short.computer == name or (short.rule == "ambiguous" and name in short.candidates), (name, short)


def test_stores_command_shows_the_dns_name(pool: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    from tlsdiag.cli import main

    main(["stores", str(pool[0])])
    assert "Computer LYNCFE01 (LyncFE01.contoso.local) (collected 2026-11-20T09:30:00Z)" in capsys.readouterr().out
