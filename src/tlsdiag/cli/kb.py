"""`tlsdiag kb`: check, test, list and export (Sigma) the knowledge base."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tlsdiag import textsafe
from tlsdiag.resources import signatures_dir


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("kb", help="check, test, list or export (Sigma) the knowledge base (signatures/)",
                            description="Work with the knowledge base: the event catalog, the root causes, the "
                                        "store checks and the error codes (signatures/).")
    parser.add_argument("--signatures", type=Path, default=None, metavar="DIR",
                        help=f"signatures directory (default: {signatures_dir()})")
    kb_sub = parser.add_subparsers(dest="kb_command", metavar="KB_COMMAND")
    check = kb_sub.add_parser("check", help="validate every signature file; exit 1 and list problems if any")
    check.set_defaults(func=_check)
    test = kb_sub.add_parser(
        "test", help="run the positive and negative examples of every (or the named) signature; exit 1 on a failure",
        description="Run each signature's examples through the real matcher and print, per file, what passed: "
                    "catalog events must match their positive examples and not their negative ones; causes must "
                    "be diagnosed first on their positive examples (inline events or a sample folder) and not on "
                    "their negative ones.")
    test.add_argument("files", nargs="*", metavar="FILE", help="signature files (path, file name or id); default: all")
    test.add_argument("-v", "--verbose", action="store_true", help="print every example, not only failures")
    test.set_defaults(func=_test)
    listing = kb_sub.add_parser("list", help="list catalog events and causes")
    listing.set_defaults(func=_list)
    export = kb_sub.add_parser("export", help="export the knowledge base as Sigma rules for SIEMs")
    export.add_argument("--sigma", type=Path, required=True, metavar="DIR",
                        help="write one Sigma rule per file under DIR (created; must be empty if it exists)")
    export.set_defaults(func=_export)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _check(args: argparse.Namespace) -> int:
    from tlsdiag.kb import check_kb, load_kb

    directory = args.signatures or signatures_dir()
    problems = check_kb(directory)
    for problem in problems:
        print(textsafe.one_line(str(problem)))
    if problems:
        print(f"{len(problems)} problem(s) in {directory}", file=sys.stderr)
        return 1
    kb = load_kb(directory)
    print(f"ok: {len(kb.events)} catalog events, {len(kb.causes)} causes, {len(kb.checks)} store checks, "
          f"{len(kb.codes)} error codes and messages in {directory}")
    return 0


def _test(args: argparse.Namespace) -> int:
    from tlsdiag.errors import InputError
    from tlsdiag.kb import load_kb
    from tlsdiag.kbtest import run

    kb = load_kb(args.signatures)
    try:
        results = run(kb, args.files)
    except ValueError as exc:
        raise InputError("kb test", str(exc)) from None
    by_file: dict = {}
    for r in results:
        by_file.setdefault(r.path, []).append(r)
    failed = 0
    for path, items in by_file.items():
        bad = [r for r in items if not r.passed]
        failed += len(bad)
        status = "ok  " if not bad else "FAIL"
        print(f"{status} {textsafe.one_line(_shown(path, kb.directory))}: {len(items) - len(bad)}/{len(items)} "
              "example(s) passed")
        for r in items if args.verbose else bad:
            mark = "pass" if r.passed else "FAIL"
            print(f"       {mark} {r.label}: {textsafe.one_line(r.detail)}")
    print(f"{len(results) - failed} of {len(results)} example(s) passed in {len(by_file)} file(s)"
          + (f"; {failed} failed" if failed else ""))
    return 1 if failed else 0


def _shown(path: Path, directory: Path) -> str:
    try:
        return str(path.relative_to(directory.parent))
    except ValueError:
        return str(path)


def _list(args: argparse.Namespace) -> int:
    from tlsdiag.kb import load_kb

    kb = load_kb(args.signatures)
    print("Catalog events:")
    for entry in sorted(kb.events.values(), key=lambda e: (e.channel.lower(), e.provider.lower(), e.event_id)):
        print(f"  {entry.id:<34} {entry.event_id:>6}  {entry.provider} ({entry.channel})  {entry.title}")
    print("Causes:")
    for cause in sorted(kb.causes.values(), key=lambda c: c.id):
        kbs = ", ".join(f"KB{k.number}" for k in cause.kb)
        print(f"  {cause.id:<34} {cause.title}" + (f"  [{kbs}]" if kbs else ""))
    return 0


def _export(args: argparse.Namespace) -> int:
    from tlsdiag.errors import InputError
    from tlsdiag.kb import load_kb
    from tlsdiag.kb.sigma import write_rules

    out: Path = args.sigma
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(str(out), "exists and is not an empty directory; choose a new folder")
    kb = load_kb(args.signatures)
    rules, skipped = write_rules(kb, out)
    kinds = {k: sum(1 for r in rules if r.kind == k) for k in ("event", "evidence", "correlation")}
    print(f"wrote {len(rules)} Sigma rules to {out}: {kinds['event']} catalog events, "
          f"{kinds['evidence']} cause evidence, {kinds['correlation']} correlations; "
          f"{len(skipped)} item(s) not expressible listed in {out / 'NOT-EXPORTED.md'}")
    return 0
