"""`tlsdiag stores`: read certificate-store exports, show the stores and what is wrong with them."""

from __future__ import annotations

import argparse

from tlsdiag.report import formats
from tlsdiag.report.stores import RENDERERS
from tlsdiag.usertime import time_option

# tlsdiag.stores (and with it cryptography) is imported inside the functions that use it: every
# subcommand module is imported to build the parser, and a scan of event logs needs no X.509 code.


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "stores", help="check certificate-store exports (reg export, hives, collector JSON, certificate folders)",
        description="Read certificate-store exports offline and report misplaced, expired or missing certificates, "
                    "the trusted-issuer list size and the SCHANNEL settings, each problem with its fix. "
                    "An export file that cannot be read beside readable ones is listed as lost and the others "
                    "are reported. Exit 1 when a problem of severity error or warning is found, 0 when none is, "
                    "2 when no export can be read at all.")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="store export files or collection folders (searched recursively)")
    parser.add_argument("--format", choices=formats.REPORT_FORMATS, default="text",
                        help="report format (default: text; json: docs/json-output.md)")
    parser.add_argument("--at", metavar="TIME", default=None,
                        help="reference time for validity checks, an ISO-8601 date or time, UTC unless a zone is "
                             "given (default: the collection time when the export records it, else now)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from tlsdiag.stores.analyse import analyse_stores

    results, lost = analyse_stores(args.paths, time_option(args.at, "at"))
    print(RENDERERS[formats.pick(args.format, formats.REPORT_FORMATS)](results, lost), end="")
    return 1 if any(f.is_problem for r in results for f in r.findings) else 0
