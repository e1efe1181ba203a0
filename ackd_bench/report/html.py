"""leaderboard/index.html: ONE static file, no network requests, sortable/filterable tables, embedded PNGs.

Sorting: click a column header (toggles ascending/descending). The page also reads its URL hash at load:
`#sort=<table id>:<column index>:<asc|desc>` and `&filter=<table id>:<text>`, so a link can open it sorted
(the Chromium test uses this). Every table records its state in `data-sort-col` / `data-sort-dir`.
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
function filterTable(table, text) {
  var needle = text.toLowerCase();
  Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
    r.style.display = r.textContent.toLowerCase().indexOf(needle) >= 0 ? "" : "none";
  });
  table.setAttribute("data-filter", text);
}
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
img { max-width: 100%; border: 1px solid #ddd; margin: 0.3em 0; }
"""

# (header, column, kind): kind "text", "pct" (fraction shown in %), "num" (4 decimals), "int", "sec"
Column = tuple[str, str, str]


def _cell(value: object, kind: str) -> str:
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if kind == "text":
        text = html.escape(str(value))
        return f'<td class="t" data-v="{text}">{text}</td>'
    if missing:
        return '<td data-v="">–</td>'
    shown = {"pct": lambda v: f"{100 * v:.2f}", "num": lambda v: f"{v:.4f}", "int": lambda v: f"{int(v)}",
             "sec": lambda v: f"{v:.1f}"}[kind](float(value))
    return f'<td data-v="{float(value)!r}">{shown}</td>'


def table_html(table_id: str, title: str, df: pd.DataFrame, columns: list[Column]) -> str:
    """A sortable, filterable table with one input box; `df` rows in their given order."""
    heads = "".join(f'<th data-type="{"text" if k == "text" else "num"}">{html.escape(h)}</th>' for h, _, k in columns)
    rows = "".join("<tr>" + "".join(_cell(r[c], k) for _, c, k in columns) + "</tr>\n" for _, r in df.iterrows())
    return (f'<h3>{html.escape(title)}</h3>\n<input type="search" placeholder="filter" data-filter="{table_id}">\n'
            f'<table class="lb" id="{table_id}"><thead><tr>{heads}</tr></thead>\n<tbody>\n{rows}</tbody></table>\n')


def page(tables: list[str], plots: dict[str, bytes], intro: str) -> str:
    """The whole index.html: tables, then plots as base64 data URIs, then the inline script."""
    imgs = "".join(f'<h3>{html.escape(name)}</h3>\n<img alt="{html.escape(name)}" '
                   f'src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}">\n'
                   for name, data in sorted(plots.items()))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>ackd-bench leaderboard</title>\n"
            f"<style>{STYLE}</style></head>\n<body>\n<h1>ackd-bench leaderboard</h1>\n<p>{html.escape(intro)}</p>\n"
            + "".join(tables) + ("<h2>Plots</h2>\n" + imgs if imgs else "")
            + f"<script>{SCRIPT}</script>\n</body></html>\n")
