"""A fix or verify step, rendered once per medium.

A cause's steps (``signatures/causes/``) and a store finding's steps (``stores.FixStep``, the same
``kb.model.Step`` type) used to be written out by five hand-made loops that disagreed (one always showed a
PowerShell prompt, one put a multi-line command on one line). Every text, Markdown and HTML report now
calls the one function of its medium here; JSON is ``Step.to_dict()``, and the TUI has its own
(``tui/guide.py: steps_text``) because it builds Rich text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tlsdiag import textsafe
from tlsdiag.kb.model import Step

PROMPTS = {"powershell": "PS> ", "cmd": "C:\\> "}


def text(steps: Iterable[Step], indent: str = "       ", start: int = 1) -> list[str]:
    """Numbered steps for a terminal; a command under its step behind its shell's prompt, never wrapped."""
    out = []
    inner = indent + "   "
    for i, s in enumerate(steps, start=start):
        out.append(f"{indent}{i}. {textsafe.one_line(s.step)}")
        if s.command:
            prompt = PROMPTS.get(s.shell, "> ")
            lines = textsafe.terminal(s.command).strip("\n").splitlines()
            out += [(inner + prompt if j == 0 else inner + " " * len(prompt)) + line for j, line in enumerate(lines)]
        if s.note:
            out.append(f"{inner}({textsafe.one_line(s.note)})")
    return out


def markdown(steps: Iterable[Step], indent: str = "") -> list[str]:
    """A numbered Markdown list; each command in a fenced block tagged with its shell."""
    md = textsafe.markdown
    out = []
    inner = indent + "   "
    for i, s in enumerate(steps, start=1):
        out.append(f"{indent}{i}. {md(s.step)}")
        if s.command:
            code = textsafe.markdown_code(s.command).strip("\n").splitlines()
            out += ["", f"{inner}```{s.shell}", *(inner + line for line in code), f"{inner}```", ""]
        if s.note:
            out += [f"{inner}_{md(s.note)}_", ""]
    return out


def html(title: str, steps: Iterable[Mapping[str, Any]]) -> list[str]:
    """An ordered list under a heading, from the JSON form of the steps (``Step.to_dict()``)."""
    h = textsafe.html_text
    steps = list(steps)
    if not steps:
        return []
    out = [f"<h4>{h(title)}</h4>", '<ol class="steps">']
    if any(step.get("command") for step in steps):
        out[0] += '<div class="hint">A click on a command selects all of it, ready to copy.</div>'
    for step in steps:
        item = f"<li>{h(step.get('step', ''))}"
        if step.get("command"):
            item += f'<pre class="cmd">{h(step["command"])}</pre>'
        if step.get("note"):
            item += f'<div class="muted small">{h(step["note"])}</div>'
        out.append(item + "</li>")
    out.append("</ol>")
    return out
