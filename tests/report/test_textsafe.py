from tlsdiag import textsafe


def test_terminal_escapes_controls_and_bidi():
    hostile = "ok\x1b[31mred\x07\u202eevil\x9b"
    out = textsafe.terminal(hostile)
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\x9b" not in out
    assert "\\x1b[31mred" in out and "\\u202e" in out


def test_rich_markup_is_inert():
    from rich.text import Text

    out = textsafe.rich_markup("[bold red]boom[/] [link=http://x]y[/link]")
    assert Text.from_markup(out).plain == "[bold red]boom[/] [link=http://x]y[/link]"


def test_csv_formula_neutralised():
    assert textsafe.csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert textsafe.csv_cell("-2+3") == "'-2+3"
    assert textsafe.csv_cell("plain") == "plain"


def test_html_and_markdown():
    assert "<script>" not in textsafe.html_text("<script>alert(1)</script>")
    md = textsafe.markdown("<b>[x](http://e)</b> *a*")
    assert "<b>" not in md and "\\[x\\]" in md and "\\*a\\*" in md
