"""Every fix and workaround in the shipped knowledge base is safe to paste (audit 2026-12, C3/M5/M6).

- A command block that changes something (registry writes, moving or deleting certificates, re-linking
  keys, reassigning Lync certificates) makes its backup in the same block, creates the backup folder
  before that, and cannot go on after a failed backup: PowerShell blocks stop on errors (and check
  ``$LASTEXITCODE`` after ``reg export``), cmd blocks chain the change to the backup with ``&&``.
- No immediate reboot, no non-graceful stop of Lync services.
- ``AuthRoot\\Certificates`` is deleted only with KB 2801679's condition spelled out in the same step.
"""

from __future__ import annotations

import re

import pytest

from tlsdiag.kb import load_kb

KB = load_kb()
CHANGES = re.compile(r"\breg\s+(?:add|delete)\b|\bMove-Item\b|\bRemove-Item\b|\bRemove-ItemProperty\b|"
                     r"\bSet-ItemProperty\b|certutil\s+-(?:repairstore|delstore)\b|\bSet-CsCertificate\b", re.I)
BACKUP = re.compile(r"\breg\s+export\b|\bExport-Certificate\b|\bExport-PfxCertificate\b", re.I)
FOLDER = re.compile(r"New-Item\s+-ItemType\s+Directory|\bmkdir\b", re.I)


def _blocks() -> list:
    out = []
    for cause in sorted(KB.causes.values(), key=lambda c: c.id):
        for kind, steps in (("fix", cause.fix), ("verify", cause.verify)):
            for i, step in enumerate(steps):
                if step.command:
                    out.append(pytest.param(step.command, step.shell, step.step, id=f"{cause.id}-{kind}-{i}"))
        for i, w in enumerate(cause.workarounds):
            if w.command:
                out.append(pytest.param(w.command, w.shell, w.title, id=f"{cause.id}-workaround-{i}"))
    assert out, "no command blocks in the knowledge base"
    return out


@pytest.mark.parametrize(("command", "shell", "text"), _blocks())
def test_a_change_is_preceded_by_a_backup_that_cannot_silently_fail(command: str, shell: str, text: str) -> None:
    change = CHANGES.search(command)
    if not change:
        return
    backup = BACKUP.search(command)
    assert backup and backup.start() < change.start(), f"no backup before the change in: {command}"
    folder = FOLDER.search(command)
    assert folder and folder.start() < backup.start(), f"backup folder not created first in: {command}"
    if shell == "cmd":
        lines = [line for line in command.splitlines() if CHANGES.search(line)]
        for line in lines:
            head = line[:CHANGES.search(line).start()]
            assert BACKUP.search(head) and "&&" in head, f"cmd change not chained to its backup with &&: {line}"
    else:
        assert re.search(r"\$ErrorActionPreference\s*=\s*'Stop'|-ErrorAction\s+Stop", command), \
            f"PowerShell block does not stop on a failed backup: {command}"
        if re.search(r"\breg\s+export\b", command):
            assert "$LASTEXITCODE" in command, f"reg export in PowerShell without an exit-code check: {command}"


@pytest.mark.parametrize(("command", "shell", "text"), _blocks())
def test_no_immediate_reboot_and_graceful_lync_stops(command: str, shell: str, text: str) -> None:
    assert not re.search(r"shutdown\s+/r\s+/t\s+0\b|Restart-Computer\s+.*-Force", command, re.I), command
    for line in command.splitlines():
        if re.search(r"\bStop-CsWindowsService\b", line):
            assert "-Graceful" in line, f"Lync services stopped without -Graceful: {line}"


def test_authroot_deletion_carries_kb_2801679_condition() -> None:
    found = 0
    for cause in KB.causes.values():
        for step in cause.fix:
            if re.search(r"AuthRoot\\Certificates", step.command, re.I) and CHANGES.search(step.command):
                found += 1
                assert re.search(r"Windows Update", step.step) and re.search(r"isolated", step.step, re.I), step.step
    assert found, "the trusted-issuer cause no longer shows KB 2801679's resolution at all"


def test_root_store_fix_moves_only_ca_certificates_and_keeps_keys() -> None:
    cause = KB.causes["root-store-non-self-signed"]
    moves = [s.command for s in cause.fix if "Move-Item" in s.command and "Cert:\\LocalMachine\\CA" in s.command]
    assert moves and all("CertificateAuthority" in m for m in moves), moves
    assert any("Export-PfxCertificate" in s.command for s in cause.fix), "end-entity keys are not backed up as PFX"
    assert any("Cert:\\LocalMachine\\My" in s.command and "HasPrivateKey" in s.command for s in cause.fix)


def test_clientauthtrustmode_shows_both_positions() -> None:
    for cause in KB.causes.values():
        for w in cause.workarounds:
            if "ClientAuthTrustMode" in (w.command + w.title):
                assert "OnPremDiag" in w.caveat and "crutch" in w.caveat and "test window" in w.caveat, cause.id
