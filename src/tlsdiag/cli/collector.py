"""`tlsdiag collector --write DIR`: put the Windows collectors where an administrator can copy them.

A ``pip install`` has no source checkout, so the collectors ship inside the package; this command
writes them out with Windows line endings (cmd.exe misreads labels in LF-only batch files).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tlsdiag.errors import InputError

# What an administrator copies to the server, and the schemas that document the JSON it writes.
FILES = ("collect-tlsdiag.cmd", "Collect-TlsDiag.ps1", "README.md",
         "tlsdiag-stores.schema.json", "tlsdiag-manifest.schema.json")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "collector", help="write the Windows collectors (cmd and PowerShell) into a folder",
        description="Write collect-tlsdiag.cmd, Collect-TlsDiag.ps1, their README and the JSON Schemas of "
                    "tlsdiag-stores.json and tlsdiag-manifest.json into DIR (created if needed; existing files "
                    "are not overwritten unless --force). Copy the .cmd or the .ps1 to the server and run it "
                    "elevated; see the README for what they collect. Without --write, list the files.")
    parser.add_argument("--write", type=Path, metavar="DIR", help="folder to write the collectors into")
    parser.add_argument("--force", action="store_true", help="overwrite files that exist in DIR")
    parser.set_defaults(func=run)


def crlf(data: bytes) -> bytes:
    """Windows line endings whatever the checkout or wheel did to them."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def run(args: argparse.Namespace) -> int:
    from tlsdiag.resources import collector_dir

    source = collector_dir()
    missing = [name for name in FILES if not (source / name).is_file()]
    if missing:
        raise InputError(str(source), f"collector files missing from this installation: {', '.join(missing)}")
    if args.write is None:
        for name in FILES:
            print(source / name)
        return 0
    target = args.write
    if target.exists() and not target.is_dir():
        raise InputError(str(target), "exists and is not a folder")
    clashes = [name for name in FILES if (target / name).exists()]
    if clashes and not args.force:
        raise InputError(str(target), f"would overwrite {', '.join(clashes)} (use --force)")
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        data = (source / name).read_bytes()
        (target / name).write_bytes(crlf(data) if name.endswith((".cmd", ".ps1")) else data)
    print(f"wrote {len(FILES)} files to {target.resolve()}", file=sys.stderr)
    return 0
