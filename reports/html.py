"""Assembling one self-contained HTML page: escaped text, tables, inline PNGs and CSS.

Every value from a run goes through `esc`; only `Safe` strings (markup built
here) are inserted as they are.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

# No scripts, no fetches: even markup that slipped through escaping could do nothing.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: #212121; margin: 0; background: #fafafa; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 1.5rem 2rem 4rem; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.25rem; margin: 2.2rem 0 .4rem; padding-bottom: .2rem;
  border-bottom: 2px solid #e0e0e0; }
h3 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
p.key { font-size: 1.02rem; margin: .3rem 0 .8rem; }
p.sub { color: #616161; margin: 0 0 1rem; }
nav { font-size: .9rem; margin: .6rem 0 1rem; }
nav a { margin-right: 1rem; color: #1565c0; text-decoration: none; }
img { max-width: 100%; height: auto; display: block; margin: .5rem 0; }
table { border-collapse: collapse; font-size: .88rem; margin: .4rem 0 1rem; }
th, td { border-bottom: 1px solid #e0e0e0; padding: .25rem .7rem; text-align: left;
  vertical-align: top; }
th { background: #f5f5f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td { max-width: 36rem; overflow-wrap: break-word; }
td.num { white-space: nowrap; }
.scroll { overflow-x: auto; max-width: 100%; }
.bad { color: #c62828; font-weight: bold; }
tr.changed td { background: #fff8e1; font-weight: 600; }
.good { color: #2e7d32; font-weight: bold; }
.banner { padding: .6rem 1rem; border-radius: 4px; margin: .8rem 0; font-weight: bold; }
.banner.good { background: #e8f5e9; }
.banner.bad { background: #ffebee; }
.cols { display: flex; gap: 2.5rem; flex-wrap: wrap; align-items: flex-start; }
"""


class Safe(str):
    """Text that is already HTML and must not be escaped again."""

    __slots__ = ()


def esc(value: Any) -> Safe:
    """Escape anything for HTML (quotes too), unless it is already `Safe`."""
    if isinstance(value, Safe):
        return value
    return Safe(html.escape(str(value), quote=True))


def markup(template: str, *args: Any, **kwargs: Any) -> Safe:
    """`template.format` with every argument escaped; the template itself is trusted."""
    return Safe(template.format(*(esc(a) for a in args), **{k: esc(v) for k, v in kwargs.items()}))


def join(parts: Iterable[Any], sep: str = "\n") -> Safe:
    """Concatenate fragments, escaping any that are not `Safe`."""
    return Safe(sep.join(esc(p) for p in parts))


def image(png: bytes, alt: str) -> Safe:
    """An <img> carrying its PNG as a data URI."""
    data = base64.b64encode(png).decode("ascii")
    return markup('<img src="data:image/png;base64,{}" alt="{}">', Safe(data), alt)


def table(
    frame: pd.DataFrame,
    formats: Mapping[str, Callable[[Any], str]] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    classes: Iterable[str] | None = None,
) -> Safe:
    """An HTML table of `frame`; `formats` turns values into text, `classes` gives each
    row a CSS class ("bad" shows it red, "changed" highlights it)."""
    formats = formats or {}
    headers = headers or {}
    row_classes = list(classes) if classes is not None else [""] * len(frame)
    head = join(markup("<th>{}</th>", headers.get(str(c), str(c))) for c in frame.columns)
    rows = []
    for row_class, record in zip(row_classes, frame.itertuples(index=False), strict=True):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            text = formats.get(str(column), _text)(value)
            numeric = _is_number(value)
            cells.append(markup('<td class="{}">{}</td>', "num" if numeric else "", text))
        rows.append(markup('<tr class="{}">{}</tr>', row_class, join(cells, "")))
    # wrapped at word boundaries only: a table wider than the page scrolls, never splits a code
    return markup(
        '<div class="scroll"><table><thead><tr>{}</tr></thead><tbody>{}</tbody></table></div>',
        head,
        join(rows),
    )


def _text(value: Any) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return str(value)


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def columns(*blocks: Iterable[Safe]) -> Safe:
    """Blocks of tables or figures side by side (wrapping on a narrow page)."""
    inner = join(markup("<div>{}</div>", join(block)) for block in blocks)
    return markup('<div class="cols">{}</div>', inner)


def anchor(title: str) -> str:
    """'Rate-limit hits' -> 'rate-limit-hits'."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def section(title: str, key: Safe, body: Iterable[Safe]) -> Safe:
    """A report section: heading, the sentence with its key figure, then plots and tables."""
    return markup(
        '<section id="{}">\n<h2>{}</h2>\n<p class="key">{}</p>\n{}\n</section>',
        anchor(title),
        title,
        key,
        join(body),
    )


def page(title: str, subtitle: Safe, banner: Safe, sections: Mapping[str, Safe]) -> Safe:
    """The whole document; `sections` maps each section's title to its HTML."""
    nav = join(markup('<a href="#{}">{}</a>', anchor(name), name) for name in sections)
    return markup(
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>{title}</title>\n<style>{css}</style>\n</head>\n<body>\n<main>\n"
        '<h1>{title}</h1>\n<p class="sub">{subtitle}</p>\n{banner}\n<nav>{nav}</nav>\n'
        "{body}\n</main>\n</body>\n</html>\n",
        csp=CSP,
        title=title,
        css=Safe(CSS),
        subtitle=subtitle,
        banner=banner,
        nav=nav,
        body=join(sections.values()),
    )


def banner(ok: bool, text: Safe) -> Safe:
    """A green or red line at the top of the report."""
    return markup('<div class="banner {}">{}</div>', "good" if ok else "bad", text)
