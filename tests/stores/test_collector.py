"""The Windows collectors: what can be checked without Windows.

No Windows host and no PowerShell run here (see collector/README.md). What is checked: the JSON the
collectors write (fixtures from tlsdiag_devkit.storegen, written to the documented formats) against the JSON
Schemas shipped beside the scripts; the reader on those fixtures; the .ps1 parses (tree-sitter's
PowerShell grammar); line endings; `tlsdiag collector --write`; and that the review's fixes are in the
scripts (text checks: they guard against a fix being dropped, they do not prove the script works).
"""

from __future__ import annotations

import base64
import copy
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest
import tree_sitter
import tree_sitter_powershell

from support.paths import REPO
from tlsdiag.cli import main
from tlsdiag.cli.collector import FILES
from tlsdiag.stores import StoreSnapshot
from tlsdiag.stores.blob import build_blob
from tlsdiag.stores.jsonfile import read_storejson
from tlsdiag.stores.manifest import read_manifest
from tlsdiag_devkit import storegen as testdata

COLLECTOR = REPO / "collector"
PS1 = COLLECTOR / "Collect-TlsDiag.ps1"
CMD = COLLECTOR / "collect-tlsdiag.cmd"
COLLECTED = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


def _schema(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((COLLECTOR / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_stores_json_fixture_matches_its_schema() -> None:
    validator = _schema("tlsdiag-stores.schema.json")
    doc = testdata.storejson(testdata.planted("LyncFE01.contoso.local", COLLECTED), dns=True)
    validator.validate(doc)
    broken = copy.deepcopy(doc)
    broken["Stores"][0]["Certificates"].append({"Thumbprint": "00" * 20})  # neither RawData nor Blob
    assert not validator.is_valid(broken)


def test_manifest_fixtures_match_their_schema() -> None:
    validator = _schema("tlsdiag-manifest.schema.json")
    s = testdata.planted("LyncFE01.contoso.local", COLLECTED)
    validator.validate(testdata.manifest(s))
    # The .cmd writes its start time as WMI CIM_DATETIME and no oldest-record time when qe gave none.
    cmd = testdata.manifest(s, collector="collect-tlsdiag.cmd", days=0)
    cmd["Started"] = "20261120103000.123456+060"
    cmd["Logs"][0]["OldestRecordUtc"] = None
    validator.validate(cmd)
    bad = testdata.manifest(s)
    bad["Logs"][0]["Status"] = "ok"
    assert not validator.is_valid(bad)


def test_manifest_reader_reads_both_collectors_forms() -> None:
    s = testdata.planted("LyncFE01.contoso.local", COLLECTED)
    cmd = testdata.manifest(s, collector="collect-tlsdiag.cmd", days=0)
    cmd["Started"] = "20261120103000.123456+060"
    m = read_manifest(json.dumps(cmd).encode("utf-16"), "m.json")
    assert (m.collector, m.days, m.started) == ("collect-tlsdiag.cmd", 0,
                                                datetime(2026, 11, 20, 9, 30, 0, 123456, tzinfo=timezone.utc))
    assert [log.status for log in m.logs] == ["exported", "exported", "not-present"]
    assert m.logs[0].oldest == datetime(2026, 11, 2, 7, 12, tzinfo=timezone.utc)
    odd = testdata.manifest(s)
    odd["Logs"][0]["SizeBytes"] = "big"
    odd["Logs"][0]["Status"] = "weird"
    m = read_manifest(json.dumps(odd).encode(), "m.json")
    assert m.logs[0].size_bytes is None and m.logs[0].status == "failed"
    assert any("status 'weird' unknown" in w for w in m.warnings)


def test_blob_key_flag_wins_over_the_cert_drive_copy() -> None:
    """Review M1: the same root in group policy (no key) and machine ROOT (with a key property)."""
    s = testdata.clean("FE01", COLLECTED)
    der = s.entries[0].der
    doc = testdata.storejson(s)
    raw = base64.b64encode(der).decode()
    doc["Stores"] = [
        {"Location": "group-policy", "Name": "Root", "Certificates": [
            {"Thumbprint": s.entries[0].thumbprint, "HasPrivateKey": True, "RawData": raw,
             "Blob": base64.b64encode(build_blob(der, friendly_name="from GPO")).decode()}]},
        {"Location": "machine", "Name": "ROOT", "Certificates": [
            {"Thumbprint": s.entries[0].thumbprint, "HasPrivateKey": False, "RawData": raw,
             "Blob": base64.b64encode(build_blob(der, private_key=True, friendly_name="local")).decode()}]},
    ]
    snap = StoreSnapshot(computer="")
    read_storejson(json.dumps(doc).encode(), "stores.json", snap)
    flags = {(c.location, c.has_private_key, c.friendly_name) for c in snap.certs}
    assert flags == {("group-policy", False, "from GPO"), ("machine", True, "local")}


def _ps_errors(source: bytes) -> list[tuple[int, int]]:
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    out: list[tuple[int, int]] = []

    def walk(node: tree_sitter.Node) -> None:
        if node.type == "ERROR" or node.is_missing:
            out.append((node.start_point.row + 1, node.start_point.column + 1))
        for child in node.children:
            walk(child)

    walk(parser.parse(source).root_node)
    return out


def test_powershell_collector_parses() -> None:
    source = PS1.read_bytes()
    assert _ps_errors(source) == []
    # the check is not vacuous: an opening brace less, or an unclosed string, is found
    assert _ps_errors(source.replace(b"[string]$Key) {", b"[string]$Key)", 1))
    assert _ps_errors(source.replace(b'"Collecting into $folder"', b'"Collecting into $folder', 1))


def test_scripts_are_crlf_and_ascii() -> None:
    for path in (PS1, CMD):
        data = path.read_bytes()
        assert data.count(b"\n") == data.count(b"\r\n") > 10, path
        data.decode("ascii")  # cmd.exe reads batch files in the OEM code page


@pytest.mark.parametrize(("path", "fixes"), [
    (PS1, ["#Requires -Version 3.0", "ConvertTo-Json -Depth 6 -Compress", "GetUnresolvedProviderPathFromPSPath",
           "-ne 'FileSystem'", "timediff(@SystemTime)", "$ChannelNotFound = 15007", "CurrentBuildNumber",
           "Tcpip\\Parameters", "AvailableFreeSpace", "Write-Progress", "Archive-$stem-*.evtx", "'gl', $Log",
           "tlsdiag-manifest", "$env:TEMP", "personal data"]),
    (CMD, ["fltmc", "%%~fI", "timediff(@SystemTime)", "15007", "Tcpip\\Parameters", "FreeSpace", "pause",
           "tlsdiag-manifest", "%TEMP%", "personal data", "wevtutil gl", "wevtutil gli", "reg query"]),
])
def test_review_fixes_are_in_the_scripts(path: Path, fixes: list[str]) -> None:
    text = path.read_text(encoding="ascii")
    assert [f for f in fixes if f not in text] == []
    assert "%CD%" not in text and "Get-Location).Path" not in text  # H1: never the current directory
    assert "if errorlevel 1" not in text  # L8


def test_collector_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out"
    assert main(["collector", "--write", str(target)]) == 0
    assert sorted(p.name for p in target.iterdir()) == sorted(FILES)
    for name in ("collect-tlsdiag.cmd", "Collect-TlsDiag.ps1"):
        data = (target / name).read_bytes()
        assert data.count(b"\n") == data.count(b"\r\n")
        assert data.replace(b"\r\n", b"\n") == (COLLECTOR / name).read_bytes().replace(b"\r\n", b"\n")
    assert main(["collector", "--write", str(target)]) == 2
    assert "use --force" in capsys.readouterr().err
    assert main(["collector", "--write", str(target), "--force"]) == 0


# ---------------------------------------------------------------- the .cmd's manifest template
# cmd.exe is not here, so the manifest the .cmd writes with `echo` is rebuilt from the script's own lines:
# each line's %VARIABLES% are replaced with values a run sets (numbers from wevtutil, "null" where it gave
# none), in the order the script writes them. This checks the JSON the template makes (quotes, commas,
# brackets), not cmd.exe's parsing.

def _cmd_lines() -> list[str]:
    return CMD.read_bytes().decode("ascii").split("\r\n")


def _expand(template: str, values: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        return values[m.group(1)]

    return re.sub(r"%(~?[A-Za-z0-9_]+)%", one, template)


def _echo(line: str, target: str) -> str:
    prefix = f'>> "%{target}%" echo '
    assert line.startswith(prefix), line
    return line[len(prefix):]


def _cmd_manifest(days: str, free: str, logs: list[dict[str, str]], keys: list[dict[str, str]]) -> str:
    lines = _cmd_lines()
    start = lines.index('> "%MAN%" (')
    head = []
    for line in lines[start + 1:]:
        if line == ")":
            break
        head.append(line.strip().removeprefix("echo "))
    log_tpl = next(_echo(x, "LOGTMP") for x in lines if x.startswith('>> "%LOGTMP%" echo %LSEP%{"Name":"%NAME%"'))
    key_tpl = next(_echo(x, "KEYTMP") for x in lines if x.startswith('>> "%KEYTMP%" echo'))
    tail = [_echo(x, "MAN") for x in lines if x.startswith('>> "%MAN%" echo')]
    common = {"COMPUTERNAME": "LYNC2013-EDGEPO", "DNSHOST": "LYNC2013-EDGEPOOL01", "DNSDOMAIN": "perimeter.contoso.com",
              "LDT": "20261120103000.123456+060", "JOUT": "C:\\\\Users\\\\adm\\\\AppData\\\\Local\\\\Temp\\\\tlsdiag-X",
              "DAYS": days, "FREEJSON": free, "NEEDJSON": "21000000"}
    out = [_expand(x, common) for x in head]
    out += [_expand(log_tpl, {**entry, "LSEP": "," if n else ""}) for n, entry in enumerate(logs)]
    out.append(tail[0])
    out += [_expand(key_tpl, {**entry, "KSEP": "," if n else ""}) for n, entry in enumerate(keys)]
    out.append(tail[1])
    return "\n".join(out)


def test_cmd_manifest_template_makes_valid_json() -> None:
    exported = {"NAME": "System", "FILE": "System.evtx", "STATUS": "exported", "CODE": "0", "ENABLED": "true",
                "SIZE": "20975616", "RECORDS": "41000", "OLDJSON": '"2026-11-02T07:12:00.123456700Z"', "REASON": ""}
    absent = {"NAME": "Microsoft-Windows-WindowsFabric/Admin", "FILE": "", "STATUS": "not-present", "CODE": "15007",
              "ENABLED": "null", "SIZE": "null", "RECORDS": "null", "OLDJSON": "null",
              "REASON": "no such log on this server"}
    disabled = {**exported, "NAME": "Microsoft-Windows-CAPI2/Operational", "FILE": "CAPI2-Operational.evtx",
                "ENABLED": "false", "SIZE": "69632", "RECORDS": "0", "OLDJSON": "null",
                "REASON": "log disabled (Windows default for CAPI2/Operational)"}
    failed = {**absent, "NAME": "Lync Server", "STATUS": "failed", "CODE": "-2147024784",
              "REASON": "wevtutil epl failed"}
    keys = [{"JKEY": "HKLM\\\\SOFTWARE\\\\Microsoft\\\\SystemCertificates", "FILE": "SystemCertificates.reg",
             "STATUS": "exported", "CODE": "0", "REASON": ""},
            {"JKEY": "HKLM\\\\SOFTWARE\\\\Microsoft\\\\EnterpriseCertificates", "FILE": "", "STATUS": "not-present",
             "CODE": "1", "REASON": "key absent (normal for unused group-policy and enterprise stores)"}]
    validator = _schema("tlsdiag-manifest.schema.json")
    for days, free, logs in (("30", "40000000000", [exported, absent, disabled, failed]), ("0", "null", [absent]),
                             ("7", "5", [])):
        text = _cmd_manifest(days, free, logs, keys)
        doc = json.loads(text)
        validator.validate(doc)
        m = read_manifest(text.encode("ascii"), "tlsdiag-manifest.json")
        assert m.collector == "collect-tlsdiag.cmd" and m.days == int(days) and len(m.logs) == len(logs)
        assert m.keys[0].name == "HKLM\\SOFTWARE\\Microsoft\\SystemCertificates"
        assert m.folder == "C:\\Users\\adm\\AppData\\Local\\Temp\\tlsdiag-X"
