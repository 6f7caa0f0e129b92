"""Derived, already-aggregated views shared by the HTML page and the Markdown summary."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlhf_eval.report._fmt import ci_of, ci_pair, num, suite_sort_key
from rlhf_eval.report._inputs import ReportInputs, RunInput

REFUSAL_METRICS = ("refusal_rate", "over_refusal_rate", "overrefusal_rate")
HONESTY_ITEM_METRICS = ("mc1", "mc2", "confidence", "brier", "sycophancy_flip", "initial_correct")
HONESTY_METRICS = ("mc1", "mc2", "ece", "brier", "sycophancy_flip_rate", "initial_accuracy")


@dataclass
class MetricRow:
    """One metric (optionally one category) before and after, or of a single run."""

    suite: str
    metric: str
    category: str | None
    kind: str | None = None
    item_metric: str | None = None
    higher_is_better: bool | None = None
    before: float | None = None
    before_ci: tuple[float, float] | None = None
    after: float | None = None
    after_ci: tuple[float, float] | None = None
    delta: float | None = None
    delta_ci: tuple[float, float] | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    adjustment: str | None = None
    significant: bool | None = None
    test: str | None = None
    n: float | None = None
    mde: float | None = None
    n_flips_bad: int | None = None
    n_flips_good: int | None = None

    @property
    def path(self) -> str:
        """``suite.metric[.category]``, the path gate and compare use."""
        base = f"{self.suite}.{self.metric}"
        return base if self.category is None else f"{base}.{self.category}"


def _hib(x: Any) -> bool | None:
    return x if isinstance(x, bool) else None


def _from_comparison(comp: dict[str, Any]) -> list[MetricRow]:
    rows = []
    for r in comp.get("metrics", []):
        suite, metric = r.get("suite"), r.get("metric")
        if not (isinstance(suite, str) and isinstance(metric, str)):
            path = str(r.get("path") or "")
            parts = path.split(".")
            if len(parts) < 2:
                continue
            suite, metric = parts[0], parts[1]
            category = ".".join(parts[2:]) or None
        else:
            category = r.get("category")
        flips = r.get("flips") if isinstance(r.get("flips"), dict) else {}
        bad, good = flips.get("good_to_bad"), flips.get("bad_to_good")
        sig = r.get("significant")
        rows.append(
            MetricRow(
                suite=suite,
                metric=metric,
                category=None if category is None else str(category),
                kind=r.get("kind") if isinstance(r.get("kind"), str) else None,
                higher_is_better=_hib(r.get("higher_is_better")),
                before=num(r.get("before")),
                before_ci=ci_of(r.get("before_ci")),
                after=num(r.get("after")),
                after_ci=ci_of(r.get("after_ci")),
                delta=num(r.get("delta")),
                delta_ci=ci_of(r.get("delta_ci")),
                p_value=num(r.get("p_value")),
                p_adjusted=num(r.get("p_adjusted")),
                adjustment=r.get("adjustment") if isinstance(r.get("adjustment"), str) else None,
                significant=sig if isinstance(sig, bool) else None,
                test=r.get("test") if isinstance(r.get("test"), str) else None,
                n=num(r.get("n")),
                mde=num(r.get("mde")),
                n_flips_bad=len(bad) if isinstance(bad, list) else None,
                n_flips_good=len(good) if isinstance(good, list) else None,
            )
        )
    return rows


def _score_entries(run: RunInput) -> Iterable[tuple[str, str, str | None, dict[str, Any], dict[str, Any]]]:
    """(suite, metric, category, entry, parent entry) for every score and category score."""
    for suite, metrics in run.scores.items():
        for metric, entry in metrics.items():
            yield suite, metric, None, entry, entry
            by_cat = entry.get("by_category")
            if isinstance(by_cat, dict):
                for cat, sub in by_cat.items():
                    if isinstance(sub, dict):
                        yield suite, metric, str(cat), sub, entry


def _from_scores(runs: Sequence[RunInput]) -> list[MetricRow]:
    rows: dict[tuple[str, str, str | None], MetricRow] = {}
    for idx, run in enumerate(runs):
        is_after = idx == len(runs) - 1
        for suite, metric, cat, entry, parent in _score_entries(run):
            key = (suite, metric, cat)
            row = rows.get(key)
            if row is None:
                row = rows[key] = MetricRow(suite, metric, cat)
            row.kind = row.kind or (parent.get("kind") if isinstance(parent.get("kind"), str) else None)
            im = parent.get("item_metric")
            row.item_metric = row.item_metric or (im if isinstance(im, str) else None)
            if row.higher_is_better is None:
                row.higher_is_better = _hib(parent.get("higher_is_better"))
            value, ci = num(entry.get("value")), ci_pair(entry.get("ci_low"), entry.get("ci_high"))
            if is_after:
                row.after, row.after_ci, row.n = value, ci, num(entry.get("n"))
            else:
                row.before, row.before_ci = value, ci
    out = list(rows.values())
    if len(runs) == 2:
        for row in out:
            if row.before is not None and row.after is not None:
                row.delta = row.after - row.before
    return out


def metric_rows(inputs: ReportInputs) -> list[MetricRow]:
    """All metric rows: from comparison.json when given (paired stats), else from the runs' scores."""
    if inputs.comparison is not None:
        rows = _from_comparison(inputs.comparison)
        # The runs' scores know each metric's item metric; comparison rows do not carry it.
        for r in _from_scores(inputs.runs) if inputs.runs else []:
            for row in rows:
                if row.suite == r.suite and row.metric == r.metric and row.item_metric is None:
                    row.item_metric = r.item_metric
    else:
        rows = _from_scores(inputs.runs)
    rows.sort(key=lambda r: (suite_sort_key(r.suite), r.category is not None, r.category or ""))
    return rows


def headline(rows: Sequence[MetricRow]) -> list[MetricRow]:
    """Suite-level rows (no category), in scorecard order."""
    return [r for r in rows if r.category is None]


def find(rows: Sequence[MetricRow], path: str | None) -> MetricRow | None:
    """The row with this ``suite.metric[.category]`` path."""
    if not path:
        return None
    for r in rows:
        if r.path == path:
            return r
    return None


def is_refusal(row: MetricRow) -> bool:
    """Whether a row is a refusal rate (over-refusal included)."""
    return row.metric in REFUSAL_METRICS or (row.item_metric == "refused" and row.kind == "proportion")


def refusal_groups(rows: Sequence[MetricRow]) -> list[tuple[MetricRow, list[MetricRow]]]:
    """(headline refusal row, its per-category rows) for each suite with a refusal rate."""
    out = []
    for h in headline(rows):
        if is_refusal(h):
            cats = [r for r in rows if r.suite == h.suite and r.metric == h.metric and r.category is not None]
            out.append((h, sorted(cats, key=lambda r: r.category or "")))
    return out


def honesty_rows(rows: Sequence[MetricRow]) -> list[MetricRow]:
    """Headline MC1/MC2, calibration and sycophancy rows."""
    return [r for r in headline(rows) if r.metric in HONESTY_METRICS or r.item_metric in HONESTY_ITEM_METRICS]


def detector_info(run: RunInput) -> dict[str, Any] | None:
    """run.json ``scoring.refusal_detector`` (name, cv_accuracy, n_train) when present."""
    scoring = run.run.get("scoring")
    det = scoring.get("refusal_detector") if isinstance(scoring, dict) else None
    return det if isinstance(det, dict) else None


def reliability(run: RunInput, n_bins: int = 10) -> tuple[list[dict[str, Any]], int]:
    """Reliability-diagram bins (lo, hi] over the run's confidence/correct pairs, and their count.

    Only suites that report an ECE are used when any does (their confidences are the
    calibrated multiple-choice answers); otherwise every sample with both metrics.
    """
    ece_suites = {
        suite
        for suite, metrics in run.scores.items()
        if any(isinstance(e, dict) and e.get("kind") == "ece" for e in metrics.values())
    }
    conf: list[float] = []
    corr: list[float] = []
    for s in run.samples:
        if ece_suites and s.get("suite") not in ece_suites:
            continue
        m = s.get("metrics") or {}
        c, k = num(m.get("confidence")), num(m.get("correct"))
        if c is not None and k is not None:
            conf.append(c)
            corr.append(k)
    if not conf:
        return [], 0
    return _bins(np.asarray(conf), np.asarray(corr), n_bins), len(conf)


def _bins(conf: np.ndarray, corr: np.ndarray, n_bins: int) -> list[dict[str, Any]]:
    """The scorer's own binning, so the diagram matches the ECE exactly."""
    from rlhf_eval.scoring import reliability_bins

    return list(reliability_bins(conf, corr, n_bins=n_bins))


def tax_axis_rows(rows: Sequence[MetricRow], comp: dict[str, Any] | None, name: str) -> MetricRow | None:
    """The comparison row behind an alignment-tax axis (by the axis's path, then by convention)."""
    defaults = {
        "harmful_compliance": "harmlessness.harmful_compliance_rate",
        "overrefusal": "overrefusal.refusal_rate",
    }
    axes = ((comp or {}).get("alignment_tax") or {}).get("axes")
    axis = axes.get(name) if isinstance(axes, dict) else None
    path = axis.get("path") if isinstance(axis, dict) else None
    return find(rows, path if isinstance(path, str) else None) or find(rows, defaults.get(name))


def notes(inputs: ReportInputs) -> list[tuple[str, str]]:
    """(who, text) for every description / intervention note and system prompt in the inputs."""
    out: list[tuple[str, str]] = []
    for run in inputs.runs:
        who = f"{run.label} ({run.model_spec})"
        for key in ("description", "intervention", "note", "notes"):
            v = run.run.get(key)
            if isinstance(v, str) and v.strip():
                out.append((who, f"{key}: {v.strip()}"))
        params = run.run.get("params")
        sp = params.get("system_prompt") if isinstance(params, dict) else None
        if isinstance(sp, str) and sp.strip():
            out.append((who, f"system prompt: {sp.strip()}"))
    if inputs.comparison:
        for key in ("description", "intervention", "note", "notes"):
            v = inputs.comparison.get(key)
            if isinstance(v, str) and v.strip():
                out.append(("comparison", f"{key}: {v.strip()}"))
    return out


def model_names(inputs: ReportInputs) -> tuple[str | None, str | None]:
    """(before, after) model specs from the runs or the comparison."""
    if inputs.before and inputs.after:
        return inputs.before.model_spec, inputs.after.model_spec
    comp = inputs.comparison or {}
    names: list[str | None] = []
    for side in ("before", "after"):
        s = comp.get(side)
        model = s.get("model") if isinstance(s, dict) else None
        spec = model.get("spec") if isinstance(model, dict) else None
        names.append(str(spec) if spec else None)
    return names[0], names[1]


def verdict_text(verdict: Any, taxed: Sequence[str], improved: Sequence[str]) -> str:
    """The alignment-tax verdict in words."""
    t = ", ".join(a.replace("_", " ") for a in taxed) or "none"
    i = ", ".join(a.replace("_", " ") for a in improved) or "none"
    return {
        "dominates": f"After dominates before: better on {i}, and worse beyond its interval on no axis.",
        "dominated": f"After is dominated by before: worse on {t}, and better on no axis.",
        "trade-off": f"Trade-off: improved {i}; paid an alignment tax on {t}.",
        "no-change": "No change: no axis moved beyond its confidence interval.",
    }.get(str(verdict), f"Verdict: {verdict} (improved: {i}; taxed: {t}).")


def consistency_warnings(inputs: ReportInputs) -> list[str]:
    """Warnings when the runs given are not the runs the comparison was computed from."""
    comp = inputs.comparison
    if comp is None or not (inputs.before and inputs.after):
        return []
    out = []
    for run in (inputs.before, inputs.after):
        side = comp.get(run.label)
        if not isinstance(side, dict):
            continue
        cm, rm = side.get("model"), run.run.get("model")
        cf = cm.get("fingerprint") if isinstance(cm, dict) else None
        rf = rm.get("fingerprint") if isinstance(rm, dict) else None
        if cf and rf and cf != rf:
            out.append(
                f"the {run.label} run ({run.source}) has model fingerprint {rf}, but the comparison's {run.label} model is {cf}"
            )
        cs, rs = side.get("suites"), run.run.get("suites")
        if isinstance(cs, dict) and isinstance(rs, dict):
            for name, info in cs.items():
                other = rs.get(name)
                if (
                    isinstance(info, dict)
                    and isinstance(other, dict)
                    and info.get("hash")
                    and other.get("hash")
                    and info.get("hash") != other.get("hash")
                ):
                    out.append(f"suite {name}: the {run.label} run's hash differs from the comparison's")
    return out
