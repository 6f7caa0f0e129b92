"""Building the HTML report and Markdown summary from every combination of inputs."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from synthetic_inputs import PAYLOADS

from rlhf_eval._io import read_json
from rlhf_eval.report import build_report, load_inputs, render_html, render_markdown


class _Links(HTMLParser):
    """Collects src/href attributes and the JSON data blocks of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.blocks: dict[str, str] = {}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for k in ("src", "href", "action", "data", "poster"):
            if a.get(k):
                self.urls.append(str(a[k]))
        if tag == "script":
            self.scripts.append(a)
            self._in = a.get("id") if a.get("type") == "application/json" else None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.blocks[self._in] = self.blocks.get(self._in, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in = None


def parse(html: str) -> _Links:
    p = _Links()
    p.feed(html)
    return p


def build_all(paths: dict[str, Path], out: Path) -> str:
    build_report(
        runs=[paths["before"], paths["after"]],
        comparison=paths["comparison"],
        audit=paths["audit"],
        gate=paths["gate"],
        out=out,
    )
    return out.read_text(encoding="utf-8")


def test_full_report_has_every_section_and_one_plotly(inputs_dir: dict[str, Path], tmp_path: Path) -> None:
    html = build_all(inputs_dir, tmp_path / "r.html")
    for sid in ("verdict", "tax", "refusals", "honesty", "samples", "audit", "provenance"):
        assert f'<section id="{sid}">' in html
        assert f'href="#{sid}"' in html  # in the table of contents
    assert html.count("plotly.js v") == 1  # the bundle's banner: embedded exactly once
    page = parse(html)
    # every chart placeholder has its figure spec; the spec is plotly JSON with data
    charts = re.findall(r'<div class="chart" data-spec="(fig-\d+)"></div>', html)
    assert len(charts) >= 10
    for key in charts:
        spec = json.loads(page.blocks[key])
        assert spec["data"] and "layout" in spec
    assert (tmp_path / "r.md").is_file()


def test_no_request_to_any_host(inputs_dir: dict[str, Path], tmp_path: Path) -> None:
    html = build_all(inputs_dir, tmp_path / "r.html")
    page = parse(html)
    assert [u for u in page.urls if re.match(r"(?i)\s*(https?:)?//", u)] == []
    assert all(not s.get("src") for s in page.scripts)
    assert "default-src &#x27;none&#x27;" in html  # the page's CSP forbids any fetch as well
    assert "<link" not in html


def test_scorecard_values_come_from_the_comparison(inputs_dir: dict[str, Path], tmp_path: Path) -> None:
    html = build_all(inputs_dir, tmp_path / "r.html")
    comp = read_json(inputs_dir["comparison"])
    row = next(r for r in comp["metrics"] if r["path"] == "harmlessness.refusal_rate")
    from rlhf_eval.report._fmt import fmt_ci

    assert fmt_ci(row["before"], tuple(row["before_ci"])) in html
    assert fmt_ci(row["delta"], tuple(row["delta_ci"]), signed=True) in html
    words = "significant improvement" if row["significant"] else "no significant change"
    assert words in html
    gate = read_json(inputs_dir["gate"])
    assert f"Release gate: {gate['status'].upper()}" in html
    # the refusal judge's out-of-sample accuracy from run.json, with its source (never the CV figure)
    assert "accuracy 0.957 vs human labels (XSTest v2, leave-one-model-out)" in html
    assert "cross-validated" not in html
    # the intervention note and system prompt from the after run
    assert "Same weights behind a safety system prompt" in html
    assert "system prompt: You are a careful assistant." in html
    # the alignment-tax verdict from the comparison
    assert f"{comp['alignment_tax']['verdict']}" in html


def test_drilldown_flags_pair_on_suite_and_item(tmp_path: Path) -> None:
    def sample(item: str, **metrics: float) -> dict[str, Any]:
        return {
            "suite": "s",
            "item_id": item,
            "category": "c",
            "task": "generate",
            "response": item,
            "metrics": metrics,
        }

    before = {
        "run": {},
        "samples": [
            sample("a", refused=0),
            sample("b", refused=1),
            sample("c", correct=1),
            sample("d", passed=0),
            sample("only-b"),
        ],
        "scores": {},
    }
    after = {
        "run": {},
        "samples": [
            sample("b", refused=0),
            sample("a", refused=1),
            sample("c", correct=0),
            sample("d", passed=1),
        ],
        "scores": {},
    }
    inputs = load_inputs([before, after])
    from rlhf_eval.report._drilldown import PAIRED_FLAGS, paired_table

    spec = paired_table(inputs.runs[0], inputs.runs[1])
    flags = {r[2]: [n for i, n in enumerate(PAIRED_FLAGS) if r[8] & (1 << i)] for r in spec["rows"]}
    assert flags == {
        "a": ["newly refused"],
        "b": ["newly complied"],
        "c": ["newly wrong"],
        "d": ["newly right"],
        "only-b": ["in one run only"],
    }


def test_long_responses_are_truncated_with_a_note(tmp_path: Path) -> None:
    long = "word " * 3000
    run = {
        "run": {},
        "samples": [{"suite": "s", "item_id": "1", "response": long, "metrics": {}}],
        "scores": {},
    }
    html = render_html(load_inputs([run, run]))
    assert "truncated: 15,000 characters in all" in html
    assert "long texts are cut to 2,000 characters" in html


def test_text_budget_shrinks_the_cell_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from rlhf_eval.report import _drilldown

    monkeypatch.setattr(_drilldown, "TEXT_BUDGET_BYTES", 50_000)
    samples = [{"suite": "s", "item_id": str(i), "response": "é" * 3000, "metrics": {}} for i in range(40)]
    run = {"run": {}, "samples": samples, "scores": {}}
    spec = _drilldown.single_table(load_inputs([run]).runs[0])
    total = sum(len(r[4].encode()) for r in spec["rows"])
    assert total < 50_000 * 1.1
    assert "cut to" in spec["note"]


def test_single_run_shows_scores_by_suite_and_category(inputs_dir: dict[str, Path], tmp_path: Path) -> None:
    out = build_report(runs=[inputs_dir["after"]], out=tmp_path / "one.html")
    html = out.read_text()
    assert '<section id="scores">' in html and '<section id="samples">' in html
    assert '<section id="verdict">' not in html and '<section id="tax">' not in html
    scores = read_json(inputs_dir["after"] / "scores.json")
    e = scores["harmlessness"]["refusal_rate"]
    from rlhf_eval.report._fmt import fmt_ci

    assert fmt_ci(e["value"], (e["ci_low"], e["ci_high"])) in html
    cat, ce = next(iter(e["by_category"].items()))
    assert f"<td>{cat}</td><td>{fmt_ci(ce['value'], (ce['ci_low'], ce['ci_high']))}</td>" in html
    assert "Notes on the run" in html


def test_two_runs_without_comparison_are_untested_deltas(inputs_dir: dict[str, Path], tmp_path: Path) -> None:
    html = build_report(
        runs=[inputs_dir["before"], inputs_dir["after"]], out=tmp_path / "two.html"
    ).read_text()
    assert "not tested" in html and "No comparison.json was given" in html
    assert '<section id="samples">' in html


def test_each_section_only_with_its_input(inputs_dir: dict[str, Path], tmp_path: Path) -> None:
    html = build_report(audit=inputs_dir["audit"], out=tmp_path / "a.html").read_text()
    assert '<section id="audit">' in html
    for sid in ("verdict", "tax", "refusals", "honesty", "samples"):
        assert f'<section id="{sid}">' not in html
    html = build_report(gate=inputs_dir["gate"], out=tmp_path / "g.html").read_text()
    assert '<section id="verdict">' in html and "Release gate" in html
    assert '<section id="samples">' not in html
    html = build_report(comparison=inputs_dir["comparison"], out=tmp_path / "c.html").read_text()
    assert '<section id="tax">' in html and '<section id="refusals">' in html
    assert '<section id="samples">' not in html  # no samples without runs


def test_audit_section_marks_suppressed_cells(inputs_dir: dict[str, Path], tmp_path: Path) -> None:
    html = build_report(audit=inputs_dir["audit"], out=tmp_path / "a.html").read_text()
    audit = read_json(inputs_dir["audit"])
    assert 'class="suppressed"' in html and "fewer than 5 annotators" in html
    alpha = audit["agreement"]["krippendorff_alpha"]
    from rlhf_eval.report._fmt import fmt_ci

    assert fmt_ci(alpha["value"], (alpha["ci_low"], alpha["ci_high"])) in html
    for title in (
        "Per-annotator reliability",
        "Representation against the reference population",
        "Agreement by group",
        "Do groups label differently?",
        "within vs across",
        "welfare",
    ):
        assert title in html


def test_missing_optional_fields_are_skipped(tmp_path: Path) -> None:
    run = {"run": {}, "samples": [{"suite": "s", "item_id": "1"}], "scores": {"s": {"m": {}}}}
    comparison = {
        "metrics": [{"path": "s.m"}, {"suite": "s", "metric": "refusal_rate", "category": None}],
        "alignment_tax": {"axes": {"capability": {}}, "capability": [{}]},
    }
    audit = {
        "agreement": {"alpha": {"value": None}, "odd": 3},
        "by_group": {"g": {"x": {"suppressed": True}}},
        "group_differences": [{}],
        "welfare": {"available": False},
        "extra": [[1, 2], {"a": {"b": {"c": {}}}}],
    }
    gate = {"results": [{}]}
    out = build_report(
        runs=[run, run], comparison=comparison, audit=audit, gate=gate, out=tmp_path / "m.html"
    )
    assert out.is_file() and (tmp_path / "m.md").is_file()


def test_markdown_summary(inputs_dir: dict[str, Path]) -> None:
    text = render_markdown(
        runs=[inputs_dir["before"], inputs_dir["after"]],
        comparison=inputs_dir["comparison"],
        audit=inputs_dir["audit"],
        gate=inputs_dir["gate"],
        html_name="r.html",
    )
    comp = read_json(inputs_dir["comparison"])
    assert text.startswith("# Alignment report:")
    assert "## Verdict" in text and "## Release gate" in text and "**FAIL** (exit code 1)" in text
    assert "## Scorecard" in text and "| harmlessness · Refusal rate |" in text
    assert "## Alignment tax" in text and "## Annotator audit" in text
    assert comp["warnings"][0] in text
    assert "accuracy 0.957 vs human labels (XSTest v2, leave-one-model-out)" in text


def test_markdown_escapes_untrusted_text() -> None:
    run = {"run": {"description": "a | b <script>x</script>\nnext"}, "samples": [], "scores": {}}
    text = render_markdown(runs=[run])
    assert "<script>" not in text and "a \\| b &lt;script>x&lt;/script> next" in text


def test_payloads_never_reach_the_page_raw(xss_dir: dict[str, Path], tmp_path: Path) -> None:
    html = build_all(xss_dir, tmp_path / "x.html")
    for payload in PAYLOADS:
        assert payload not in html
    assert 'onerror="document' not in html and 'onload="document' not in html
    # every script element is ours: three with a nonce (plotly, report.js) or JSON data blocks
    page = parse(html)
    assert all(s.get("type") == "application/json" or s.get("nonce") for s in page.scripts)
    assert sum(1 for s in page.scripts if s.get("nonce")) == 2
    assert html.lower().count("<script") == html.lower().count("</script>") == len(page.scripts)
    # and the payloads are still there, as data, for the page to show as text
    blob = "".join(json.loads(b) and b for b in page.blocks.values())
    assert "\\u003cscript\\u003edocument.title='PWNED'\\u003c/script\\u003e" in blob


def test_runs_that_do_not_match_the_comparison_are_flagged(
    inputs_dir: dict[str, Path], tmp_path: Path
) -> None:
    comp = read_json(inputs_dir["comparison"])
    comp["after"]["model"]["fingerprint"] = "sha256:other"
    html = render_html(load_inputs([inputs_dir["before"], inputs_dir["after"]], comparison=comp))
    assert "Warning: the after run" in html and "sha256:other" in html
