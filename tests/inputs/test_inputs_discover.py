"""Finding inputs: kinds by content, folders and triage layouts, zips read in place and refused safely."""

from __future__ import annotations

import codecs
import json
import os
import stat
import struct
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from support.evtxspecs import capi, lync, schannel
from tlsdiag.errors import InputError
from tlsdiag.inputs import discover, read_events
from tlsdiag.inputs.discover import unsafe_name
from tlsdiag.model import ReadSummary
from tlsdiag_devkit.evtxwrite import evtx_bytes

EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"


def _cert_der() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Root")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def _kinds(tmp_path: Path) -> dict[str, str]:
    return {Path(i.display).name: i.kind for i in discover([tmp_path])}


def test_kinds_are_decided_by_content_not_name(tmp_path: Path) -> None:
    der = _cert_der()
    files = {
        "system.log": evtx_bytes([capi(0)]),
        "export.dat": codecs.BOM_UTF16_LE + f'<Event xmlns="{EVENT_NS}"><System/></Event>'.encode("utf-16-le"),
        "saved.xml": b'<?xml version="1.0" encoding="utf-8"?>\r\n<!-- c --><Events><Event/></Events>',
        "ticket.txt": b"Hello\r\nLog Name:      System\r\nSource: Schannel\r\n",
        "kopie.txt": "Protokollname: System\nQuelle: Schannel\n".encode("cp1252"),
        "root.reg": codecs.BOM_UTF16_LE + "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE]\r\n"
        .encode("utf-16-le"),
        "old.reg": b"REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE]\r\n",
        "SOFTWARE": b"regf" + bytes(4092),
        "stores.json": codecs.BOM_UTF8 + json.dumps({"computer": "fe01", "stores": []}).encode(),
        "other.json": json.dumps({"events": []}).encode(),
        "collector.json": json.dumps({"Format": "tlsdiag-stores", "Stores": []}).encode(),
        "root.cer": der,
        "noext": der,
        "chain.pem": b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "README.md": b"# notes\nnothing here\n",
        "empty.bin": b"",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    assert _kinds(tmp_path) == {
        "system.log": "evtx", "export.dat": "xml", "saved.xml": "xml", "ticket.txt": "text",
        "kopie.txt": "text", "root.reg": "reg", "old.reg": "reg", "SOFTWARE": "hive",
        "stores.json": "storejson", "other.json": "unknown", "collector.json": "storejson", "root.cer": "cert", "noext": "cert",
        "chain.pem": "cert", "README.md": "unknown", "empty.bin": "unknown",
    }


def test_store_kinds_are_listed_but_not_read_as_events(tmp_path: Path) -> None:
    (tmp_path / "root.cer").write_bytes(_cert_der())
    (tmp_path / "System.evtx").write_bytes(evtx_bytes([schannel(0)]))
    summary = ReadSummary()
    events = list(read_events([tmp_path], summary=summary))
    assert len(events) == 1
    assert sorted((Path(f.source).name, f.form, f.records) for f in summary.files) == [
        ("System.evtx", "evtx", 1), ("root.cer", "cert", 0)]


def test_triage_layout_is_walked_recursively_in_sorted_order(tmp_path: Path) -> None:
    logs = tmp_path / "SRV01" / "C" / "Windows" / "System32" / "winevt" / "Logs"
    logs.mkdir(parents=True)
    (logs / "System.evtx").write_bytes(evtx_bytes([schannel(0)]))
    (logs / "Lync Server.evtx").write_bytes(evtx_bytes([lync(0)]))
    (tmp_path / "SRV02").mkdir()
    (tmp_path / "SRV02" / "Application.evtx").write_bytes(evtx_bytes([capi(0)]))
    found = discover([tmp_path])
    assert [os.path.relpath(i.display, tmp_path) for i in found] == [
        "SRV01/C/Windows/System32/winevt/Logs/Lync Server.evtx",
        "SRV01/C/Windows/System32/winevt/Logs/System.evtx",
        "SRV02/Application.evtx",
    ]


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        discover([tmp_path / "nope"])


def test_evidence_is_opened_read_only(tmp_path: Path) -> None:
    path = tmp_path / "System.evtx"
    path.write_bytes(evtx_bytes([schannel(0)]))
    path.chmod(stat.S_IRUSR)
    before = path.stat()
    summary = ReadSummary()
    assert len(list(read_events([path], summary=summary))) == 1
    after = path.stat()
    assert (before.st_mtime_ns, before.st_size) == (after.st_mtime_ns, after.st_size)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["System.evtx"]  # nothing written next to it


@pytest.mark.parametrize("name, ok", [
    ("C/Windows/System32/winevt/Logs/System.evtx", True),
    ("Logs\\System.evtx", True),
    ("../System.evtx", False), ("a/../../b", False), ("..\\evil", False),
    ("/etc/passwd", False), ("\\\\server\\share", False), ("C:/Windows/x.evtx", False), ("c:evil", False),
])
def test_unsafe_member_names(name: str, ok: bool) -> None:
    assert (unsafe_name(name) is None) == ok


def _zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _encrypt_flag(path: Path, member: str) -> None:
    """Set the 'encrypted' flag bit of one member (zipfile cannot write encrypted archives)."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    for sig, flag_off, name_len_off, name_off in ((b"PK\x03\x04", 6, 26, 30), (b"PK\x01\x02", 8, 28, 46)):
        pos = data.find(sig)
        while pos >= 0:
            n = struct.unpack_from("<H", data, pos + name_len_off)[0]
            if data[pos + name_off: pos + name_off + n] == name:
                data[pos + flag_off] |= 0x01
            pos = data.find(sig, pos + 4)
    path.write_bytes(bytes(data))


def test_zip_is_read_in_place_with_traversal_encrypted_and_bomb_refused(tmp_path: Path) -> None:
    evtx_data = evtx_bytes([schannel(0), lync(1)])
    archive = _zip(tmp_path / "collection.zip", {
        "SRV01/C/Windows/System32/winevt/Logs/System.evtx": evtx_data,
        "../escape.evtx": evtx_data,
        "/abs.evtx": evtx_data,
        "C:/drive.evtx": evtx_data,
        "secret.evtx": evtx_data,
        "bomb.evtx": b"ElfFile\x00" + bytes(40 * 1024 * 1024),
    })
    _encrypt_flag(archive, "secret.evtx")
    before = sorted(p.name for p in tmp_path.iterdir())
    found = {i.display.split("!", 1)[1]: i for i in discover([archive])}
    assert found["SRV01/C/Windows/System32/winevt/Logs/System.evtx"].kind == "evtx"
    assert "escapes" in found["../escape.evtx"].problem
    assert "absolute" in found["/abs.evtx"].problem
    assert "drive letter" in found["C:/drive.evtx"].problem
    assert "encrypted" in found["secret.evtx"].problem
    assert "ratio" in found["bomb.evtx"].problem
    summary = ReadSummary()
    events = list(read_events([archive], summary=summary))  # refusals are reported, the run goes on
    assert [e.event_id for e in events] == [36888, 32174]
    assert events[0].source == f"{archive}!SRV01/C/Windows/System32/winevt/Logs/System.evtx"
    errors = {f.source.split("!", 1)[1]: f.error for f in summary.files if f.error}
    assert set(errors) == {"../escape.evtx", "/abs.evtx", "C:/drive.evtx", "secret.evtx", "bomb.evtx"}
    assert all(f.form == "zip" for f in summary.files if f.error)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing extracted


def test_nested_zip_one_level_is_read_deeper_is_refused(tmp_path: Path) -> None:
    data = evtx_bytes([capi(0)])
    inner = _zip(tmp_path / "inner.zip", {"Logs/Application.evtx": data})
    middle = _zip(tmp_path / "middle.zip", {"deep/inner.zip": inner.read_bytes()})
    outer = _zip(tmp_path / "outer.zip", {"srv1.zip": inner.read_bytes(), "srv2.zip": middle.read_bytes()},
                 zipfile.ZIP_STORED)
    found = {i.display: i for i in discover([outer])}
    ok = found[f"{outer}!srv1.zip!Logs/Application.evtx"]
    assert ok.kind == "evtx" and ok.problem is None
    deep = found[f"{outer}!srv2.zip!deep/inner.zip"]
    assert "nested" in deep.problem
    summary = ReadSummary()
    assert [e.event_id for e in read_events([ok], summary=summary)] == [4097]


def test_corrupt_member_data_is_a_loss_not_a_crash(tmp_path: Path) -> None:
    data = evtx_bytes([capi(i) for i in range(300)])
    archive = _zip(tmp_path / "c.zip", {"a/System.evtx": data, "b/System.evtx": data}, zipfile.ZIP_STORED)
    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 4] ^= 0xFF  # inside the first member's data: its CRC no longer matches
    archive.write_bytes(bytes(raw))
    summary = ReadSummary()
    events = list(read_events([archive], summary=summary))
    first, second = summary.files
    assert second.records == 300 and not second.lost
    loss = first.lost[-1]  # zipfile notices the bad CRC when the member is read to its end
    assert loss.where == "file" and "reading stopped" in loss.reason and "CRC" in loss.reason
    assert len(events) == first.records + 300


def test_unreadable_zip_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04" + bytes(50))
    (found,) = discover([bad])
    assert found.problem and "zip" in found.problem
