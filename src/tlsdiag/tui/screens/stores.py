"""Stores: each computer's certificate stores as a tree; certificates carry their findings (symbol and colour)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Header, Static, Tree

from tlsdiag.tui.guide import finding_mark
from tlsdiag.tui.render import line, safe, short_time
from tlsdiag.tui.screens.base import AppScreen


def _cert_key(location: str, store: str, thumbprint: str) -> tuple[str, str, str]:
    return (location, store, thumbprint.upper())


def _finding_label(finding: Any) -> Text:
    symbol, word, style = finding_mark(finding)
    return Text.assemble((f"{symbol} {word}: ", style), line(finding.title or finding.check))


def _worst(findings: list[Any]) -> tuple[str, str, str] | None:
    order = {"problem": 0, "warning": 1, "note": 2, "ok": 3}
    marks = sorted((finding_mark(f) for f in findings), key=lambda m: order.get(m[1], 9))
    return marks[0] if marks else None


class StoresScreen(AppScreen):
    HELP_TITLE = "Certificate stores"
    HELP_EXTRA = ("✗ problem, ! warning, · note, ✓ ok (symbols as well as colours).",
                  "Enter or Space opens and closes a node.")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("a", "expand_all", "Expand all"), Binding("z", "collapse_all", "Collapse all")]
    PALETTE = (("screen.expand_all", "Expand all stores", "Open every node of the store tree"),
               ("screen.collapse_all", "Collapse all stores", "Close every node of the store tree"))

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(""), id="stores-status")
        tree: Tree[Any] = Tree(Text("Certificate stores"), id="stores-tree")
        tree.show_root = False
        yield tree
        yield Footer()

    def on_mount(self) -> None:
        self._shown: Any = object()
        self.watch(self.app, "revision", self.refresh_data, init=True)
        self.query_one(Tree).focus()

    def refresh_data(self, _: int = 0) -> None:
        app: Any = self.app
        result = app.result
        analyses = list(result.stores) if result is not None else []
        status = self.query_one("#stores-status", Static)
        if not analyses:
            status.update(Text("No certificate-store export loaded. Press l to load one "
                               "(reg export, SOFTWARE hive, collector JSON or certificate folder)."))
        else:
            problems = sum(1 for a in analyses for f in a.findings if f.is_problem)
            status.update(Text(f"{len(analyses)} computer(s), {problems} problem finding(s) · "
                               "✗ problem  ! warning  · note  ✓ ok"))
        if analyses is self._shown or (result is not None and result.stores is self._shown):
            return
        self._shown = result.stores if result is not None else analyses
        self._build(analyses)

    def _build(self, analyses: list[Any]) -> None:
        tree: Tree[Any] = self.query_one(Tree)
        tree.clear()
        for analysis in analyses:
            snap = analysis.snapshot
            by_cert: dict[tuple[str, str, str], list[Any]] = {}
            general: list[Any] = []
            for f in analysis.findings:
                cert = f.cert
                if cert is not None:
                    by_cert.setdefault(_cert_key(cert.location, cert.store, cert.thumbprint), []).append(f)
                else:
                    general.append(f)
            label = line(snap.computer or "(computer not named)", "bold")
            mark = _worst(list(analysis.findings))
            if mark:
                label = Text.assemble((f"{mark[0]} ", mark[2]), label)
            node = tree.root.add(label, expand=True)
            node.add_leaf(Text.assemble("sources: ", line(", ".join(snap.sources))))
            checks = node.add(Text("checks", style="bold"), expand=True)
            for f in general:
                leaf = checks.add(_finding_label(f), allow_expand=bool(f.why))
                if f.why:
                    leaf.add_leaf(safe(f.why))
            for location, store, certs in snap.physical_stores():
                store_findings = [f for c in certs for f in by_cert.get(_cert_key(location, store, c.thumbprint), [])]
                smark = _worst(store_findings)
                slabel = Text.assemble((f"{smark[0]} ", smark[2]) if smark else "  ",
                                       line(f"{location} {store}"), f" ({len(certs)})")
                snode = node.add(slabel, expand=bool(smark and smark[1] in ("problem", "warning")),
                                 allow_expand=bool(certs))
                for c in certs:
                    findings = by_cert.get(_cert_key(location, store, c.thumbprint), [])
                    cmark = _worst(findings)
                    clabel = Text.assemble((f"{cmark[0]} ", cmark[2]) if cmark else "  ", line(c.cert.subject),
                                           ("  " + c.thumbprint[:8] + "…", "dim"))
                    # Details are added when the node is first opened: a store of 340 roots stays quick.
                    snode.add(clabel, data=(c, findings), expand=False, allow_expand=True)

    @on(Tree.NodeExpanded)
    def _fill_certificate(self, event: Tree.NodeExpanded[Any]) -> None:
        node = event.node
        if not isinstance(node.data, tuple) or node.children:
            return
        c, findings = node.data
        for f in findings:
            fnode = node.add(_finding_label(f), expand=False)
            if f.why:
                fnode.add_leaf(safe(f.why))
        node.add_leaf(Text.assemble("issuer: ", line(c.cert.issuer)))
        node.add_leaf(Text.assemble("thumbprint: ", line(c.thumbprint)))
        node.add_leaf(Text(f"valid: {short_time(c.cert.not_before)} … {short_time(c.cert.not_after)}"))
        key = {True: "yes", False: "no", None: "unknown"}[c.has_private_key]
        node.add_leaf(Text(f"private key: {key}"))
        node.add_leaf(Text.assemble("source: ", line(c.source)))

    def action_expand_all(self) -> None:
        self.query_one(Tree).root.expand_all()

    def action_collapse_all(self) -> None:
        for node in self.query_one(Tree).root.children:
            node.collapse_all()
