"""A fix or verify step, and a workaround, rendered once per medium.

A cause's steps (``signatures/causes/``) and a store finding's steps (``stores.FixStep``, the same
``kb.model.Step`` type) used to be written out by five hand-made loops that disagreed (one always showed a
PowerShell prompt, one put a multi-line command on one line). Every text, Markdown and HTML report now
calls the one function of its medium here; JSON is ``Step.to_dict()``, and the TUI has its own
(``tui/guide.py: steps_text``) because it builds Rich text. A cause's workarounds (what hides the symptom
without fixing the cause) follow the same rule: the scan and explain reports render them alike.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

from tlsdiag import textsafe
from tlsdiag.kb.model import Step, Workaround

WORKAROUNDS_TITLE = "Workarounds (they hide the symptom; they do not fix the cause)"

PROMPTS = {"powershell": "PS> ", "cmd": "C:\\> "}


def _command_text(command: str, shell: str, indent: str) -> list[str]:
    """A command behind its shell's prompt, its lines kept as written (a command is never wrapped)."""
    prompt = PROMPTS.get(shell, "> ")
    lines = textsafe.terminal(command).strip("\n").splitlines()
    pad = indent + " " * len(prompt)
    return [(indent + prompt if j == 0 else pad) + line for j, line in enumerate(lines)]


def text(steps: Iterable[Step], indent: str = "       ", start: int = 1) -> list[str]:
    """Numbered steps for a terminal; a command under its step behind its shell's prompt, never wrapped."""
    out = []
    inner = indent + "   "
    for i, s in enumerate(steps, start=start):
        out.append(f"{indent}{i}. {textsafe.one_line(s.step)}")
        if s.command:
            out += _command_text(s.command, s.shell, inner)
        if s.note:
            out.append(f"{inner}({textsafe.one_line(s.note)})")
    return out


def workarounds_text(workarounds: Iterable[Workaround], indent: str) -> list[str]:
    """A cause's workarounds for a terminal: a heading at indent, each with its command and its caveat."""
    workarounds = list(workarounds)
    if not workarounds:
        return []
    out = [f"{indent}{WORKAROUNDS_TITLE}:"]
    for w in workarounds:
        out.append(f"{indent}  - {textsafe.one_line(w.title)}")
        if w.command:
            out += _command_text(w.command, w.shell, indent + "      ")
        inner = indent + "    "
        out += textwrap.wrap(f"caveat: {textsafe.one_line(w.caveat)}", width=110, initial_indent=inner,
                             subsequent_indent=inner, break_on_hyphens=False)
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


def workarounds_markdown(workarounds: Iterable[Workaround]) -> list[str]:
    """A cause's workarounds as a Markdown list, each command in a fenced block tagged with its shell."""
    md = textsafe.markdown
    workarounds = list(workarounds)
    if not workarounds:
        return []
    out = [f"**{WORKAROUNDS_TITLE}**", ""]
    for w in workarounds:
        out.append(f"- {md(w.title)}: {md(w.caveat)}")
        if w.command:
            code = textsafe.markdown_code(w.command).strip("\n").splitlines()
            out += ["", f"  ```{w.shell}", *("  " + line for line in code), "  ```", ""]
    out.append("")
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


def workarounds_html(workarounds: Iterable[Mapping[str, Any]]) -> list[str]:
    """Each workaround as a caveat box, from the JSON form (``report/json.py``)."""
    h = textsafe.html_text
    out = []
    for w in workarounds:
        command = f'<pre class="cmd">{h(w["command"])}</pre>' if w.get("command") else ""
        out.append(f'<div class="caveat"><strong>Workaround: {h(w.get("title"))}</strong>{command}'
                   f"<div>{h(w.get('caveat'))}</div></div>")
    return out
