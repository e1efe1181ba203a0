"""leaderboard/index.html: ONE static file, no network requests, sortable/filterable tables, embedded PNGs.

Sorting: click a column header (toggles ascending/descending). The page also reads its URL hash at load:
`#sort=<table id>:<column index>:<asc|desc>`, `&filter=<table id>:<text>` and `&benchmark=..&pair=..&method=..
&pairing=..` (the page-wide filters), so a link can open it sorted or filtered (the Chromium test uses this).
Every table records its state in `data-sort-col` / `data-sort-dir`. The page-wide filters (select boxes) hide
every row, in every table, whose `data-benchmark` / `data-pair` / `data-method` / `data-pairing` differs.
"""

from __future__ import annotations

import base64
import html
import math

import pandas as pd

SCRIPT = """
function sortTable(table, col, dir) {
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var numeric = table.tHead.rows[0].cells[col].getAttribute("data-type") === "num";
  rows.sort(function (a, b) {
    var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
    if (numeric) {
      x = x === "" ? NaN : parseFloat(x); y = y === "" ? NaN : parseFloat(y);
      if (isNaN(x) || isNaN(y)) { return isNaN(x) - isNaN(y); }
      return dir === "asc" ? x - y : y - x;
    }
    return dir === "asc" ? x.localeCompare(y) : y.localeCompare(x);
  });
  rows.forEach(function (r) { body.appendChild(r); });
  table.setAttribute("data-sort-col", String(col));
  table.setAttribute("data-sort-dir", dir);
}
var FACETS = ["benchmark", "pair", "method", "pairing"];
function facetValue(name) {
  var sel = document.getElementById("facet-" + name);
  return sel ? sel.value : "";
}
function rowVisible(r, needle) {
  for (var i = 0; i < FACETS.length; i++) {
    var want = facetValue(FACETS[i]), have = r.getAttribute("data-" + FACETS[i]);
    if (want && have !== null && have !== want) { return false; }
  }
  return r.textContent.toLowerCase().indexOf(needle) >= 0;
}
function filterTable(table, text) {
  var needle = text.toLowerCase();
  Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
    r.style.display = rowVisible(r, needle) ? "" : "none";
  });
  table.setAttribute("data-filter", text);
}
function applyFacets() {
  document.querySelectorAll("table.lb").forEach(function (t) { filterTable(t, t.getAttribute("data-filter") || ""); });
  document.querySelectorAll("[data-facet-block]").forEach(function (block) {
    var ok = FACETS.every(function (f) {
      var want = facetValue(f), have = block.getAttribute("data-" + f);
      return !want || have === null || have === want;
    });
    block.style.display = ok ? "" : "none";
  });
}
document.querySelectorAll("select.facet").forEach(function (sel) { sel.addEventListener("change", applyFacets); });
document.querySelectorAll("table.lb").forEach(function (table) {
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    th.addEventListener("click", function () {
      var same = table.getAttribute("data-sort-col") === String(col);
      sortTable(table, col, same && table.getAttribute("data-sort-dir") === "desc" ? "asc" : "desc");
    });
  });
});
document.querySelectorAll("input[data-filter]").forEach(function (input) {
  input.addEventListener("input", function () {
    filterTable(document.getElementById(input.getAttribute("data-filter")), input.value);
  });
});
(function () {
  var params = new URLSearchParams(window.location.hash.slice(1));
  var sort = params.get("sort"), filter = params.get("filter");
  FACETS.forEach(function (f) {
    var sel = document.getElementById("facet-" + f);
    if (sel && params.get(f)) { sel.value = params.get(f); }
  });
  applyFacets();
  if (sort) {
    var s = sort.split(":"), t = document.getElementById(s[0]);
    if (t) { sortTable(t, parseInt(s[1], 10), s[2] === "asc" ? "asc" : "desc"); }
  }
  if (filter) {
    var i = filter.indexOf(":"), t2 = document.getElementById(filter.slice(0, i));
    if (t2) { filterTable(t2, filter.slice(i + 1)); }
  }
})();
"""

STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table.lb { border-collapse: collapse; margin: 0.5em 0 1.5em 0; font-size: 13px; }
table.lb th, table.lb td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
table.lb th { background: #f0f0f0; cursor: pointer; user-select: none; }
table.lb td.t { text-align: left; }
table.lb td.ci { white-space: nowrap; }
table.lb tr.best td.ci { font-weight: bold; background: #dff0d8; }
table.lb tr.tied td.ci { background: #fcf8e3; }
table.lb tr.unranked td.ci { color: #777; }
table.cm { border-collapse: collapse; font-size: 10px; margin: 0.3em 0 0.8em 0; }
table.cm td, table.cm th { border: 1px solid #ddd; padding: 1px 4px; text-align: right; }
div.howto { border: 1px solid #9ac; background: #f4f8fc; padding: 0.6em 1em; max-width: 60em; }
div.filters { margin: 0.8em 0; }
div.filters label { margin-right: 1em; }
span.swatch { display: inline-block; width: 0.9em; height: 0.9em; vertical-align: middle; margin-right: 0.2em; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.3em 0; }
"""

# (header, column, kind): kind "text", "pct" (fraction shown in %), "num" (4 decimals), "int", "sec", "p"
# (p-value), "ci" (shows column `<column>_text`, sorts by `<column>`)
Column = tuple[str, str, str]
FACET_COLUMNS = ("benchmark", "pair", "method", "pairing")


def _cell(value: object, kind: str, text: object = None) -> str:
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if kind == "ci":
        shown = html.escape(str(text))
        return f'<td class="ci" data-v="{"" if missing else repr(float(value))}">{shown}</td>'
    if kind == "text":
        text = html.escape(str(value))
        return f'<td class="t" data-v="{text}">{text}</td>'
    if missing:
        return '<td data-v="">–</td>'
    shown = {
        "pct": lambda v: f"{100 * v:.2f}",
        "num": lambda v: f"{v:.4f}",
        "int": lambda v: f"{int(v)}",
        "sec": lambda v: f"{v:.1f}",
        "num1": lambda v: f"{v:.1f}",
        "p": lambda v: "<0.001" if v < 0.001 else f"{v:.3f}",
    }[kind](float(value))
    shown = html.escape(shown)
    return f'<td data-v="{float(value)!r}">{shown}</td>'


def _row_open(r: pd.Series) -> str:
    attrs = "".join(f' data-{f}="{html.escape(str(r[f]))}"' for f in FACET_COLUMNS if f in r.index)
    cls = r.get("_class") if "_class" in r.index else ""
    return f"<tr{attrs}{f' class={chr(34)}{cls}{chr(34)}' if cls else ''}>"


def table_html(table_id: str, title: str, df: pd.DataFrame, columns: list[Column], caption: str = "") -> str:
    """A sortable, filterable table with one input box; `df` rows in their given order. Rows carry the page-wide
    filter attributes (benchmark, pair, method, pairing) and the CSS class in column `_class` if present."""
    heads = "".join(f'<th data-type="{"text" if k == "text" else "num"}">{html.escape(h)}</th>' for h, _, k in columns)
    rows = "".join(
        _row_open(r) + "".join(_cell(r[c], k, r.get(f"{c}_text")) for _, c, k in columns) + "</tr>\n"
        for _, r in df.iterrows()
    )
    note = f'<p class="caption">{html.escape(caption)}</p>\n' if caption else ""
    return (
        f"<h3>{html.escape(title)}</h3>\n{note}"
        f'<input type="search" placeholder="filter" data-filter="{table_id}">\n'
        f'<table class="lb" id="{table_id}"><thead><tr>{heads}</tr></thead>\n<tbody>\n{rows}</tbody></table>\n'
    )


def filters_html(values: dict[str, list[str]]) -> str:
    """The page-wide select boxes (empty option = all)."""
    parts = []
    for facet in FACET_COLUMNS:
        opts = "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values.get(facet, []))
        parts.append(
            f'<label>{facet} <select class="facet" id="facet-{facet}"><option value="">all</option>'
            f"{opts}</select></label>"
        )
    return '<div class="filters">Show only: ' + "".join(parts) + "</div>\n"


def paragraph(lines: list[str]) -> str:
    return "<p>" + "<br>".join(html.escape(line) for line in lines) + "</p>\n"


def howto_html(text: str) -> str:
    return f'<div class="howto" id="howto"><b>How to read this page.</b> {html.escape(text)}</div>\n'


def legend_html(colours: dict[str, str]) -> str:
    """The method colours used in every plot."""
    items = "".join(
        f'<span class="swatch" style="background:{c}"></span>{html.escape(m)} ' for m, c in sorted(colours.items())
    )
    return f'<p class="legend">Method colours (all plots): {items}</p>\n'


def confusion_html(blocks: list[tuple[dict, list[str], list[list[int]]]]) -> str:
    """One small matrix per cell (rows = true class, columns = predicted, summed over the cell's seeds), each in a
    block carrying the page-wide filter attributes; `blocks`: (facets + title, class names, counts)."""
    out = [
        '<details id="confusion"><summary>Confusion matrices (per cell, summed over seeds; per run in '
        "confusion.csv)</summary>\n"
    ]
    for meta, classes, counts in blocks:
        attrs = "".join(f' data-{f}="{html.escape(str(meta[f]))}"' for f in FACET_COLUMNS if f in meta)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in classes)
        body = "".join(
            f"<tr><th>{html.escape(c)}</th>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>"
            for c, row in zip(classes, counts)
        )
        out.append(
            f'<div class="cmblock" data-facet-block="1"{attrs}><h4>{html.escape(meta["title"])}</h4>'
            f'<table class="cm"><thead><tr><th>true \\ predicted</th>{head}</tr></thead><tbody>{body}'
            "</tbody></table></div>\n"
        )
    return "".join(out) + "</details>\n"


def page(tables: list[str], plots: dict[str, bytes], intro: str, head: str = "") -> str:
    """The whole index.html: `head` (filters, how-to box, ...), tables, then plots as base64 data URIs, then the
    inline script."""
    imgs = "".join(
        f'<h3>{html.escape(name)}</h3>\n<img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}">\n'
        for name, data in sorted(plots.items())
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n<title>ackd-bench leaderboard</title>\n'
        f"<style>{STYLE}</style></head>\n<body>\n<h1>ackd-bench leaderboard</h1>\n<p>{html.escape(intro)}</p>\n"
        + head
        + "".join(tables)
        + ("<h2>Plots</h2>\n" + imgs if imgs else "")
        + f"<script>{SCRIPT}</script>\n</body></html>\n"
    )
