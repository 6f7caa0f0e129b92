"""compare_runs: pair two runs on (suite, item_id), test every metric, adjust, and weigh the tax."""

from __future__ import annotations

import math
import os
from typing import Any

from rlhf_eval.compare._corrected import corrected_block, judge_error_of, load_judge_validation
from rlhf_eval.compare._load import MetricSpec, Run, load_run
from rlhf_eval.compare._result import Comparison
from rlhf_eval.compare._rows import Paired, Params, collect, flip_directions, metric_rows
from rlhf_eval.compare._tax import alignment_tax
from rlhf_eval.errors import UserError
from rlhf_eval.stats import benjamini_hochberg, holm


def compare_runs(
    before_dir: str | os.PathLike[str],
    after_dir: str | os.PathLike[str],
    *,
    n_resamples: int = 10000,
    seed: int = 0,
    allow_suite_mismatch: bool = False,
    alpha: float = 0.05,
    judge_validation: str | os.PathLike[str] | None = None,
) -> Comparison:
    """Compare two run directories item by item; bad input raises :class:`UserError`.

    Deterministic given ``seed``. Intervals are ``1 - alpha``; headline rows are
    Holm-adjusted together, per-category rows Benjamini-Hochberg-adjusted together, and
    ``significant`` means ``p_adjusted < alpha``. Rows of judged refusal rates also get a
    judge-corrected ``corrected`` block, from the judge error recorded in each run.json or,
    when given, from ``judge_validation`` (a ``validate-judge --out`` file) for both runs.
    """
    params = _check_params(n_resamples, seed, alpha)
    before, after = load_run(before_dir), load_run(after_dir)
    err_before, err_after = judge_error_of(before.info), judge_error_of(after.info)
    if judge_validation is not None:
        err_before = err_after = load_judge_validation(judge_validation)
    warnings: list[str] = []
    plan = pair_items(before, after, allow_suite_mismatch, warnings)

    rows: list[dict[str, Any]] = []
    data: dict[str, Paired] = {}
    flips: list[dict[str, Any]] = []
    for suite, ids in plan.items():
        for spec in _common_metrics(before, after, suite, warnings):
            paired = collect(before, after, suite, ids, spec)
            if not paired.ids:
                warnings.append(
                    f"{suite}.{spec.name}: no item has {spec.item_metric!r} in both runs; not tested"
                )
            for row, sub in metric_rows(suite, spec, paired, params):
                corrected = corrected_block(row, sub.before, sub.after, err_before, err_after, params.alpha)
                if corrected is not None:
                    row["corrected"] = corrected
                rows.append(row)
                data[row["path"]] = sub
            if spec.kind == "proportion":
                flips.extend(_flip_records(suite, spec, paired))
    adjust(rows, params.alpha)
    warnings.extend(resolution_warnings(rows, params))
    tax, tax_warnings = alignment_tax(rows, data, params)
    warnings.extend(tax_warnings)
    return Comparison(
        before=before.provenance(),
        after=after.provenance(),
        params={
            "n_resamples": params.n_resamples,
            "seed": params.seed,
            "alpha": params.alpha,
            "allow_suite_mismatch": allow_suite_mismatch,
            "judge_validation": str(judge_validation) if judge_validation is not None else None,
        },
        rows=rows,
        flip_records=flips,
        alignment_tax=tax,
        warnings=warnings,
    )


def _check_params(n_resamples: int, seed: int, alpha: float) -> Params:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise UserError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or not 0 < alpha < 1:
        raise UserError(f"alpha must be between 0 and 1, got {alpha!r}")
    return Params(n_resamples=n_resamples, seed=seed, alpha=float(alpha))


def pair_items(
    before: Run, after: Run, allow_suite_mismatch: bool, warnings: list[str]
) -> dict[str, list[str]]:
    """``{suite: [item_id, ...]}`` of items present in both runs (before's order); warns on gaps."""
    only_before = [s for s in before.samples if s not in after.samples]
    only_after = [s for s in after.samples if s not in before.samples]
    for s in only_before:
        warnings.append(f"suite {s!r} only in before ({before.dir}); not compared")
    for s in only_after:
        warnings.append(f"suite {s!r} only in after ({after.dir}); not compared")
    plan: dict[str, list[str]] = {}
    for suite, items_b in before.samples.items():
        items_a = after.samples.get(suite)
        if items_a is None:
            continue
        vb, va = before.versions.get(suite), after.versions.get(suite)
        if vb != va:
            msg = f"suite {suite!r}: version {vb!r} in before vs {va!r} in after"
            if not allow_suite_mismatch:
                raise UserError(
                    f"{msg}; items or templates changed (pass --allow-suite-mismatch to compare anyway)"
                )
            warnings.append(msg + "; compared anyway (--allow-suite-mismatch)")
        ids = [i for i in items_b if i in items_a]
        n_b, n_a = len(items_b) - len(ids), len(items_a) - len(ids)
        if n_b or n_a:
            warnings.append(f"{suite}: paired {len(ids)} items; {n_b} only in before, {n_a} only in after")
        if ids:
            plan[suite] = ids
    if not plan:
        raise UserError(
            f"no common items: {before.dir} and {after.dir} share no (suite, item_id) pair "
            f"(before suites: {', '.join(before.samples) or 'none'}; "
            f"after suites: {', '.join(after.samples) or 'none'})"
        )
    return plan


def _common_metrics(before: Run, after: Run, suite: str, warnings: list[str]) -> list[MetricSpec]:
    """Metrics defined for ``suite`` in both scores.json files with the same definition."""
    mb, ma = before.metrics.get(suite, {}), after.metrics.get(suite, {})
    if not mb or not ma:
        warnings.append(
            f"{suite}: no metrics for this suite in {'before' if not mb else 'after'} scores.json"
        )
        return []
    out: list[MetricSpec] = []
    for name, spec in mb.items():
        other = ma.get(name)
        if other is None:
            warnings.append(f"{suite}.{name}: only in before scores.json; not compared")
        elif (other.kind, other.item_metric) != (spec.kind, spec.item_metric):
            warnings.append(
                f"{suite}.{name}: defined differently (before {spec.kind}/{spec.item_metric}, "
                f"after {other.kind}/{other.item_metric}); not compared"
            )
        else:
            if other.higher_is_better != spec.higher_is_better:
                warnings.append(f"{suite}.{name}: higher_is_better differs between runs; using before's")
            out.append(spec)
    for name in ma:
        if name not in mb:
            warnings.append(f"{suite}.{name}: only in after scores.json; not compared")
    return out


def adjust(rows: list[dict[str, Any]], alpha: float) -> None:
    """Holm across headline rows, Benjamini-Hochberg across per-category rows; sets ``significant``."""
    for headline, method, fn in ((True, "holm", holm), (False, "bh", benjamini_hochberg)):
        family = [r for r in rows if r["headline"] is headline]
        adjusted = fn([r["p_value"] for r in family])
        for r, q in zip(family, adjusted, strict=True):
            r["adjustment"] = method
            r["p_adjusted"] = float(q) if math.isfinite(q) else None
            r["significant"] = bool(r["p_adjusted"] is not None and r["p_adjusted"] < alpha)


def resolution_warnings(rows: list[dict[str, Any]], params: Params) -> list[str]:
    """Warn when permutation p-values (at least ``1/(B+1)``) cannot survive Holm's correction."""
    family = [r for r in rows if r["headline"] and r["p_value"] is not None]
    permuted = [r for r in family if r["test"] != "mcnemar_exact"]
    floor = len(family) / (params.n_resamples + 1)
    if permuted and floor >= params.alpha:
        return [
            f"n_resamples={params.n_resamples} is too small for {len(family)} headline rows: a permutation "
            f"p-value is at least 1/(n_resamples+1), so its Holm-adjusted value cannot go below "
            f"{floor:.3g} (alpha {params.alpha:g}); use more resamples"
        ]
    return []


def _flip_records(suite: str, spec: MetricSpec, paired: Paired) -> list[dict[str, Any]]:
    rise, fall = flip_directions(spec.higher_is_better)
    out = []
    for item_id, cat, x, y in zip(paired.ids, paired.categories, paired.before, paired.after, strict=True):
        if x != y:
            direction = rise if y > x else fall
            out.append(
                {
                    "suite": suite,
                    "metric": spec.name,
                    "category": cat,
                    "item_id": item_id,
                    "direction": direction,
                }
            )
    return out
