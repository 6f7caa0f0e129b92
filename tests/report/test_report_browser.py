"""The report in headless Chromium: hostile data stays text, every chart renders, nothing is fetched.

Needs Debian's chromium (``apt-get install -y chromium``). Skipped locally without it; under CI
(env var CI set) a missing browser is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from rlhf_eval.report import build_report, load_inputs
from rlhf_eval.report._drilldown import paired_table

pytestmark = pytest.mark.slow

_PROBE = """<script nonce="{nonce}">
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {{
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
}});
function __rows(host) {{ return host.querySelectorAll("table.dt tbody tr").length; }}
function __status(host) {{ return host.querySelector(".dt-status").textContent; }}
window.addEventListener("load", function () {{
  var out = {{}};
  var host = document.querySelector("#samples .data-table");
  var search = host.querySelector("input[type=search]");
  var selects = host.querySelectorAll("select");
  var flagSel = selects[selects.length - 1];
  out.first_page = __rows(host);
  search.value = "{item}";
  search.dispatchEvent(new Event("input"));
  setTimeout(function () {{
    out.search_rows = __rows(host);
    search.value = "";
    search.dispatchEvent(new Event("input"));
    setTimeout(function () {{
      flagSel.value = "0";
      flagSel.dispatchEvent(new Event("change"));
      out.flag_status = __status(host);
      selects[0].value = "honesty";
      selects[0].dispatchEvent(new Event("change"));
      flagSel.value = "-1";
      flagSel.dispatchEvent(new Event("change"));
      out.suite_status = __status(host);
      var d = document.createElement("pre");
      d.id = "probe";
      out.violations = window.__violations;
      out.resources = performance.getEntriesByType("resource").map(function (e) {{ return e.name; }});
      out.title = document.title;
      d.textContent = JSON.stringify(out);
      document.body.appendChild(d);
    }}, 400);
  }}, 400);
}});
</script>"""


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        msg = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


def dump_dom(page: Path, tmp: Path) -> str:
    """The DOM after scripts ran, from headless Chromium with every host unresolvable."""
    profile = tmp / f"profile-{page.stem}"
    cmd = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND",
        "--virtual-time-budget=8000", "--dump-dom", page.resolve().as_uri(),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "</html>" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


class _Dom(HTMLParser):
    """Per chart container: whether an svg.main-svg rendered inside it; the title; ids."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, int | None]] = []
        self.charts: list[dict[str, Any]] = []
        self.ids: set[str] = set()
        self.title = ""
        self._title = False
        self.tables: list[int] = []
        self.table_kinds: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if a.get("id"):
            self.ids.add(str(a["id"]))
        owner = None
        if tag == "div" and "chart" in cls:
            self.charts.append({"plotly": "js-plotly-plot" in cls, "svg": 0, "error": "chart-error" in cls})
            owner = len(self.charts) - 1
        if tag == "svg" and "main-svg" in cls:
            for _, idx in reversed(self.stack):
                if idx is not None:
                    self.charts[idx]["svg"] += 1
                    break
        if tag == "table":
            self.table_kinds.append("dt" in cls)
            if "dt" in cls:
                self.tables.append(0)
        if tag == "tr" and self.table_kinds and self.table_kinds[-1] and self.stack[-1][0] == "tbody":
            self.tables[-1] += 1
        self._title = tag == "title"
        if tag not in ("meta", "br", "img", "input", "link", "path", "rect", "line", "circle", "use", "hr"):
            self.stack.append((tag, owner))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.table_kinds:
            self.table_kinds.pop()
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break
        self._title = False

    def handle_data(self, data: str) -> None:
        if self._title:
            self.title += data


def _report(xss_dir: dict[str, Path], out: Path) -> str:
    build_report(
        runs=[xss_dir["before"], xss_dir["after"]], comparison=xss_dir["comparison"],
        audit=xss_dir["audit"], gate=xss_dir["gate"], out=out,
    )  # fmt: skip
    return out.read_text(encoding="utf-8")


def _check_rendered(dom: str, n_charts: int, first_page: int | None = 50) -> _Dom:
    parsed = _Dom()
    parsed.feed(dom)
    assert "PWNED" not in parsed.title
    assert "pwned" not in parsed.ids
    assert len(parsed.charts) == n_charts
    assert [c for c in parsed.charts if not (c["plotly"] and c["svg"] >= 1 and not c["error"])] == []
    assert dom.count('class="main-svg"') >= n_charts
    # the payloads are on the page, as text (the serialiser re-escapes text nodes)
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom
    assert '&lt;img src=x onerror="document.body.insertAdjacentHTML(' in dom
    assert "&lt;/script&gt;&lt;script&gt;" in dom
    # the drill-down table rendered its first page of 50 rows
    assert parsed.tables and (first_page is None or parsed.tables[0] == first_page)
    return parsed


def test_hostile_report_renders_safely_in_chromium(xss_dir: dict[str, Path], tmp_path: Path) -> None:
    html = _report(xss_dir, tmp_path / "xss.html")
    n_charts = len(re.findall(r'<div class="chart" data-spec="fig-\d+"></div>', html))
    assert n_charts >= 10

    # 1. Escaping alone must hold: the same page without its Content-Security-Policy.
    no_csp = tmp_path / "xss-no-csp.html"
    no_csp.write_text(
        re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html, count=1), encoding="utf-8"
    )
    assert "Content-Security-Policy" not in no_csp.read_text(encoding="utf-8")
    _check_rendered(dump_dom(no_csp, tmp_path), n_charts)

    # 2. The page as written, with a probe: no CSP violation (no blocked handler, fetch or eval)
    #    and no resource loaded at all (everything is inline).
    nonce = re.search(r'<script nonce="([^"]+)"', html)
    assert nonce
    probed = tmp_path / "xss-probe.html"
    probe_js = _PROBE.format(nonce=nonce.group(1), item="har-00002")
    probed.write_text(
        html.replace('<meta name="viewport"', probe_js + '<meta name="viewport"', 1),
        encoding="utf-8",
    )
    dom = dump_dom(probed, tmp_path)
    _check_rendered(dom, n_charts, first_page=None)  # the probe has filtered the table
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert m, "the probe did not run"
    probe = json.loads(
        m.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )
    assert probe["violations"] == []
    assert probe["resources"] == []
    assert "PWNED" not in probe["title"]
    # the drill-down's search and filters work on the embedded rows
    spec = paired_table(*load_inputs([xss_dir["before"], xss_dir["after"]]).runs)
    n_refused = sum(1 for r in spec["rows"] if r[8] & 1)
    n_honesty = sum(1 for r in spec["rows"] if r[0] == "honesty")
    assert probe["first_page"] == 50
    assert probe["search_rows"] == 1
    assert f"of {n_refused} (filtered from {len(spec['rows'])})" in probe["flag_status"]
    assert f"of {n_honesty} (filtered" in probe["suite_status"]
