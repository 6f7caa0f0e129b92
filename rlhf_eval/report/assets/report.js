/* rlhf-eval report: renders plotly charts and paginated tables from inert JSON data blocks.
   Data is only ever written with textContent, never innerHTML. */
(function () {
  "use strict";

  function readSpec(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function renderCharts() {
    var nodes = document.querySelectorAll("div.chart[data-spec]");
    for (var i = 0; i < nodes.length; i++) {
      var div = nodes[i];
      try {
        var spec = readSpec(div.getAttribute("data-spec"));
        var layout = spec.layout || {};
        layout.autosize = true;
        Plotly.newPlot(div, spec.data || [], layout, {
          displaylogo: false, responsive: true, showLink: false, showSendToCloud: false,
          modeBarButtonsToRemove: ["sendDataToCloud", "select2d", "lasso2d"]
        });
      } catch (err) {
        div.classList.add("chart-error");
        div.textContent = "This chart could not be drawn: " + err;
      }
    }
  }

  function makeTable(host) {
    var spec = readSpec(host.getAttribute("data-spec"));
    if (!spec) return;
    var rows = spec.rows, cols = spec.columns, pageSize = spec.page_size || 50;
    var flagCol = spec.flag_col, flags = spec.flags || [];
    var searchCols = spec.search_cols || cols.map(function (_, i) { return i; });
    var lower = null; // lazily built search strings
    var state = { q: "", filters: {}, flag: -1, page: 0 };

    var controls = el("div", "dt-controls");
    var search = el("input");
    search.type = "search";
    search.placeholder = "Search " + rows.length.toLocaleString() + " rows…";
    search.setAttribute("aria-label", "Search the table");
    controls.appendChild(search);

    var selects = [];
    (spec.filters || []).forEach(function (f) {
      var sel = el("select");
      sel.setAttribute("aria-label", f.label);
      sel.setAttribute("data-col", f.col);
      selects.push({ sel: sel, col: f.col, label: f.label });
      controls.appendChild(sel);
    });
    var flagSel = null;
    if (flags.length && flagCol !== null && flagCol !== undefined) {
      flagSel = el("select");
      flagSel.setAttribute("aria-label", "Flag");
      flagSel.appendChild(new Option("any flag or none", "-1"));
      flags.forEach(function (name, i) { flagSel.appendChild(new Option(name, String(i))); });
      controls.appendChild(flagSel);
    }
    var prev = el("button", null, "‹ Prev"), next = el("button", null, "Next ›");
    prev.type = "button"; next.type = "button";
    var status = el("span", "dt-status");
    controls.appendChild(prev); controls.appendChild(next); controls.appendChild(status);

    var wrap = el("div", "table-wrap");
    var table = el("table", spec.layout === "auto" ? "dt dt-auto" : "dt");
    var thead = el("thead"), tbody = el("tbody");
    var hr = el("tr");
    cols.forEach(function (c) {
      var th = el("th", null, c.label);
      if (c.width) th.style.width = c.width;
      hr.appendChild(th);
    });
    thead.appendChild(hr); table.appendChild(thead); table.appendChild(tbody); wrap.appendChild(table);
    host.appendChild(controls);
    host.appendChild(wrap);

    function fillOptions() {
      // each filter lists the values present under the other filters' current choices
      selects.forEach(function (s) {
        var current = state.filters[s.col];
        var seen = {}, values = [];
        rows.forEach(function (r) {
          for (var k in state.filters) {
            if (+k !== s.col && state.filters[k] !== undefined && String(r[k]) !== state.filters[k]) return;
          }
          var v = String(r[s.col]);
          if (!seen[v]) { seen[v] = true; values.push(v); }
        });
        values.sort();
        while (s.sel.firstChild) s.sel.removeChild(s.sel.firstChild);
        s.sel.appendChild(new Option("all " + s.label.toLowerCase() + " values", ""));
        values.forEach(function (v) { s.sel.appendChild(new Option(v, v)); });
        s.sel.value = current !== undefined && seen[current] ? current : "";
        if (s.sel.value === "") delete state.filters[s.col];
      });
    }

    function matches(r, i) {
      for (var k in state.filters) {
        if (String(r[k]) !== state.filters[k]) return false;
      }
      if (state.flag >= 0 && !(r[flagCol] & (1 << state.flag))) return false;
      if (state.q) {
        if (!lower) {
          lower = rows.map(function (row) {
            return searchCols.map(function (c) { return String(row[c]); }).join("\u0001").toLowerCase();
          });
        }
        if (lower[i].indexOf(state.q) < 0) return false;
      }
      return true;
    }

    // a column shows one or more parts of the row: {col: data index, type: text|long|small|id|flags}
    function parts(c, ci) { return c.parts || [{ col: c.col !== undefined ? c.col : ci, type: c.type }]; }

    function cell(c, ci, r) {
      var td = el("td");
      parts(c, ci).forEach(function (p) {
        var v = r[p.col];
        if (p.type === "flags") {
          flags.forEach(function (name, i) { if (v & (1 << i)) td.appendChild(el("span", "badge badge-" + i, name)); });
        } else if (p.type === "long") {
          td.appendChild(el("div", "long", v));
        } else if (p.type === "small") {
          if (v !== "" && v !== null && v !== undefined) td.appendChild(el("div", "smallcell", v));
        } else if (p.type === "id") {
          td.appendChild(el("div", "idcell", v));
        } else {
          td.appendChild(el("div", null, v === null || v === undefined ? "–" : String(v)));
        }
      });
      return td;
    }

    function render() {
      var hits = [];
      for (var i = 0; i < rows.length; i++) if (matches(rows[i], i)) hits.push(i);
      var pages = Math.max(1, Math.ceil(hits.length / pageSize));
      if (state.page >= pages) state.page = pages - 1;
      var start = state.page * pageSize, end = Math.min(hits.length, start + pageSize);
      var frag = document.createDocumentFragment();
      for (var j = start; j < end; j++) {
        var r = rows[hits[j]], tr = el("tr");
        for (var c = 0; c < cols.length; c++) tr.appendChild(cell(cols[c], c, r));
        frag.appendChild(tr);
      }
      while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
      tbody.appendChild(frag);
      status.textContent = hits.length
        ? "rows " + (start + 1).toLocaleString() + "–" + end.toLocaleString() + " of " + hits.length.toLocaleString() +
          (hits.length !== rows.length ? " (filtered from " + rows.length.toLocaleString() + ")" : "") +
          " · page " + (state.page + 1) + " of " + pages
        : "no rows match";
      prev.disabled = state.page === 0;
      next.disabled = state.page >= pages - 1;
    }

    var timer = null;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state.q = search.value.trim().toLowerCase(); state.page = 0; render(); }, 120);
    });
    selects.forEach(function (s) {
      s.sel.addEventListener("change", function () {
        if (s.sel.value === "") delete state.filters[s.col]; else state.filters[s.col] = s.sel.value;
        state.page = 0; fillOptions(); render();
      });
    });
    if (flagSel) flagSel.addEventListener("change", function () { state.flag = +flagSel.value; state.page = 0; render(); });
    prev.addEventListener("click", function () { state.page = Math.max(0, state.page - 1); render(); });
    next.addEventListener("click", function () { state.page += 1; render(); });
    fillOptions();
    render();
  }

  function init() {
    var tables = document.querySelectorAll("div.data-table[data-spec]");
    for (var i = 0; i < tables.length; i++) {
      try { makeTable(tables[i]); } catch (err) { tables[i].appendChild(el("p", "chart-error", "Table failed: " + err)); }
    }
    if (typeof Plotly !== "undefined") renderCharts();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
