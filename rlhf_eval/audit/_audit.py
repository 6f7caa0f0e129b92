"""The whole preference-data audit: one function that returns DataFrames and the audit.json dict."""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from rlhf_eval import __version__
from rlhf_eval._io import atomic_write_json
from rlhf_eval.audit._agreement import (
    DEFAULT_MIN_SHARED_ITEMS,
    agreement,
    agreement_frame,
    count_coefficients,
)
from rlhf_eval.audit._annotators import annotator_report
from rlhf_eval.audit._bootstrap import DEFAULT_N_BOOTSTRAP
from rlhf_eval.audit._counts import ItemCounts
from rlhf_eval.audit._differences import RatingPairs, group_differences, within_vs_across
from rlhf_eval.audit._groups import Grouping, build_groupings, concentration, rating_groups, representation
from rlhf_eval.audit._load import (
    CodedRatings,
    apply_column_map,
    encode_annotators,
    encode_ratings,
    read_reference_population,
    read_table,
)
from rlhf_eval.audit._privacy import DEFAULT_MIN_GROUP_SIZE, pseudonymise, resolve_key
from rlhf_eval.audit._welfare import (
    DEFAULT_HARM_THRESHOLD,
    DEFAULT_MIN_HARMFUL,
    DEFAULT_SHARE_THRESHOLD,
    welfare,
)
from rlhf_eval.audit._whose import whose_preferences
from rlhf_eval.errors import UserError

SCHEMA = "rlhf-eval/audit/1"
TableSource: TypeAlias = "pd.DataFrame | str | os.PathLike[str]"


@dataclass
class AuditResult:
    """Audit output: ``report`` is the audit.json content; the rest are DataFrames.

    Every annotator id in every table is a keyed pseudonym; suppressed groups carry no
    numbers.
    """

    report: dict[str, Any]
    agreement: pd.DataFrame
    annotators: pd.DataFrame
    by_group: pd.DataFrame
    representation: pd.DataFrame
    group_differences: pd.DataFrame
    within_vs_across: pd.DataFrame
    whose_preferences: pd.DataFrame
    welfare: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write ``report`` as strict JSON, atomically."""
        atomic_write_json(path, self.report)


def _read(
    source: TableSource | None, name: str, string_columns: Sequence[str]
) -> tuple[pd.DataFrame | None, str | None, str]:
    """(table, source path or None, name used in error messages: the file's name or ``name``)."""
    if source is None:
        return None, None, name
    if isinstance(source, pd.DataFrame):
        return source, name, name
    return read_table(source, string_columns=string_columns), os.fspath(source), os.path.basename(source)


def audit(
    ratings: TableSource,
    annotators: TableSource | None = None,
    reference_population: TableSource | Mapping[str, Mapping[str, float]] | None = None,
    *,
    level: str = "nominal",
    columns: Mapping[str, str] | None = None,
    label_order: Sequence[str] | None = None,
    attributes: Sequence[str] | None = None,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    n_bootstrap: int = DEFAULT_N_BOOTSTRAP,
    n_permutations: int = 1000,
    seed: int = 0,
    pseudonym_key: str | bytes | None = None,
    harm_threshold: float = DEFAULT_HARM_THRESHOLD,
    welfare_threshold: float = DEFAULT_SHARE_THRESHOLD,
    welfare_min_harmful: int = DEFAULT_MIN_HARMFUL,
    min_shared_items: int = DEFAULT_MIN_SHARED_ITEMS,
    intersections: bool = True,
    flag_gap: float = 0.1,
    confidence: float = 0.95,
) -> AuditResult:
    """Audit preference data: agreement, annotator reliability, demographic skew, welfare.

    Args:
        ratings: long table (DataFrame or file) with ``item_id``, ``annotator_id``, ``label``
            and optional ``strength``, ``seconds_spent``, ``harm``, ``reward_a``, ``reward_b``.
        annotators: ``annotator_id`` plus demographic columns (DataFrame or file).
        reference_population: ``attribute, group, share`` rows (DataFrame, file or
            ``{attribute: {group: share}}``).
        level: nominal, ordinal, interval or ratio (Krippendorff's metric).
        columns: canonical name -> column name in the files, e.g. ``{"label": "choice"}``.
        label_order: order of text labels (needed for ordinal levels of text categories).
        attributes: annotator columns to analyse (default: all but the id and rating
            columns). Without an annotator table, these columns are read from the ratings
            table (one value per annotator).
        min_group_size: k; groups with fewer annotators are suppressed everywhere.
        n_bootstrap, n_permutations, seed, confidence: resampling settings.
        pseudonym_key: key of the annotator pseudonyms (default: $RLHF_EVAL_PSEUDONYM_KEY,
            else random per audit).
        harm_threshold, welfare_threshold, welfare_min_harmful: welfare settings.
        min_shared_items: annotator pairs below this many shared items are left out of
            pairwise Cohen's kappa.
        intersections: also analyse two-way intersections of attributes.
        flag_gap: minimum shortfall of LOO agreement below expectation to flag an annotator.
    """
    if min_group_size < 1:
        raise UserError(f"--min-group-size {min_group_size}: must be at least 1")
    if n_bootstrap < 0 or n_permutations < 0:
        raise UserError("--n-bootstrap and --n-permutations must be non-negative")
    if not 0 < confidence < 1:
        raise UserError(f"confidence {confidence}: must be between 0 and 1")
    mapping = dict(columns or {})
    id_cols = [mapping.get("item_id", "item_id"), mapping.get("annotator_id", "annotator_id")]
    ratings_frame, ratings_src, ratings_name = _read(ratings, "ratings", id_cols)
    assert ratings_frame is not None
    ratings_frame = apply_column_map(ratings_frame, mapping, ratings_name)
    coded = encode_ratings(ratings_frame, level=level, label_order=label_order, name=ratings_name)

    ann_frame, ann_src, ann_name = _read(annotators, "annotators", id_cols[1:])
    if ann_frame is not None:
        ann_frame = apply_column_map(ann_frame, mapping, ann_name, keys=("annotator_id",))
    elif attributes:  # demographics given per rating (e.g. DICES): read them from the ratings table
        ann_frame, ann_src, ann_name = coded.frame, ratings_src, ratings_name
    table = encode_annotators(ann_frame, coded.annotator_ids, attributes=attributes, name=ann_name)

    reference: dict[str, dict[str, float]] | None = None
    if isinstance(reference_population, Mapping):
        ref_frame: pd.DataFrame | None = pd.DataFrame(
            [(a, g, s) for a, cells in reference_population.items() for g, s in cells.items()],
            columns=["attribute", "group", "share"],
        )
        ref_src: str | None = "mapping"
        ref_name = "reference_population"
    else:
        ref_frame, ref_src, ref_name = _read(reference_population, "reference_population", ())
    if ref_frame is not None:
        reference = read_reference_population(ref_frame, name=ref_name)
    warnings = list(table.warnings)
    if reference is not None:
        known = set(table.attributes) | {f"{a}&{b}" for a in table.attributes for b in table.attributes}
        for attr in reference:
            if attr not in known:
                warnings.append(
                    f"reference population attribute {attr!r} is not an analysed annotator attribute"
                )

    key, keyed = resolve_key(pseudonym_key)
    pseudo = np.array(pseudonymise(coded.annotator_ids, key), dtype=object)
    k = min_group_size
    groupings = build_groupings(table, k=k, intersections=intersections)

    coefficients = agreement(
        coded,
        level=level,
        n_boot=n_bootstrap,
        seed=seed,
        min_shared_items=min_shared_items,
        confidence=confidence,
    )
    ann = annotator_report(coded, flag_gap=flag_gap)
    rep_section, rep_frame, rep_warnings = representation(coded, groupings, reference, k=k, seed=seed)
    warnings.extend(rep_warnings)
    flagged = ann.frame["flagged"].to_numpy(dtype=bool)
    by_group_section, by_group_frame = _by_group(
        coded, groupings, level, flagged, k=k, n_boot=n_bootstrap, seed=seed, confidence=confidence
    )
    diff_frame = wva_frame = pd.DataFrame()
    if groupings:
        pairs = RatingPairs.build(coded, level)
        diff_frame = group_differences(
            coded,
            groupings,
            level=level,
            n_boot=n_bootstrap,
            seed=seed,
            confidence=confidence,
        )
        wva_frame = within_vs_across(
            coded, groupings, level=level, n_permutations=n_permutations, seed=seed, pairs=pairs
        )
    whose_section, whose_frame = whose_preferences(coded, groupings, k=k, confidence=confidence)
    welfare_section, welfare_frame = welfare(
        coded,
        groupings,
        k=k,
        harm_threshold=harm_threshold,
        share_threshold=welfare_threshold,
        min_harmful=welfare_min_harmful,
    )

    annotators_frame = ann.frame.copy()
    annotators_frame["annotator_id"] = pseudo
    if ann.dawid_skene is not None:
        annotators_frame["ds_confusion"] = [c.tolist() for c in ann.dawid_skene.confusion]
    if not welfare_frame.empty:
        welfare_frame = welfare_frame.copy()
        welfare_frame["annotator_id"] = pseudo
        annotators_frame = annotators_frame.merge(welfare_frame, on="annotator_id", how="left")
    annotators_frame = annotators_frame.sort_values("annotator_id").reset_index(drop=True)

    m = np.bincount(coded.item, minlength=coded.n_items)
    params = {
        "level": level,
        "min_group_size": k,
        "seed": seed,
        "n_bootstrap": n_bootstrap,
        "n_permutations": n_permutations,
        "confidence": confidence,
        "min_shared_items": min_shared_items,
        "flag_gap": flag_gap,
        "harm_threshold": harm_threshold,
        "welfare_threshold": welfare_threshold,
        "welfare_min_harmful": welfare_min_harmful,
        "intersections": intersections,
        "label_order": list(label_order) if label_order else None,
        "attributes": table.attributes,
        "columns": mapping,
        "pseudonym_keyed": keyed,
    }
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {"rlhf_eval": __version__, "python": platform.python_version()},
        "params": params,
        "input": {
            "ratings": ratings_src,
            "annotators": ann_src,
            "reference_population": ref_src,
            "n_ratings": coded.n_ratings,
            "n_items": coded.n_items,
            "n_annotators": coded.n_annotators,
            "label_kind": coded.label_kind,
            "categories": coded.categories,
            "n_missing_labels": coded.n_missing_labels,
            "n_duplicate_ratings": coded.n_duplicate_ratings,
            "n_annotators_not_in_table": table.n_not_in_table if ann_frame is not None else None,
        },
        "n_excluded_items": int((m == 1).sum()),
        "n_items_used": int((m >= 2).sum()),
        "agreement": {name: coef.as_dict() for name, coef in coefficients.items()},
        "annotators": _records(annotators_frame, {"annotator_id": "id"}),
        "dawid_skene": _ds_section(ann, coded),
        "concentration": concentration(coded),
        "representation": rep_section,
        "by_group": by_group_section,
        "group_differences": _records(diff_frame),
        "within_vs_across": _wva_section(wva_frame, groupings, k),
        "whose_preferences": whose_section,
        "welfare": welfare_section,
        "suppressed": _suppressed_section(groupings, k),
        "warnings": warnings,
    }
    report["findings"] = _findings(report)
    return AuditResult(
        report=report,
        agreement=agreement_frame(coefficients),
        annotators=annotators_frame,
        by_group=by_group_frame,
        representation=rep_frame,
        group_differences=diff_frame,
        within_vs_across=wva_frame,
        whose_preferences=whose_frame,
        welfare=welfare_frame,
        warnings=warnings,
    )


def _by_group(
    coded: CodedRatings,
    groupings: list[Grouping],
    level: str,
    flagged: np.ndarray,
    *,
    k: int,
    n_boot: int,
    seed: int,
    confidence: float,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Agreement among each visible group's own ratings (items with two or more of them), and
    how many of the group's annotators carry a low-agreement flag."""
    section: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for grouping in groupings:
        gcode = rating_groups(grouping, coded)

        def cell(g: int, name: str, grouping: Grouping = grouping, gcode: Any = gcode) -> dict[str, Any]:
            sel = gcode == g
            ic = ItemCounts.from_codes(
                coded.item[sel],
                coded.label[sel],
                n_items=coded.n_items,
                values=coded.values,
                n_possible_categories=coded.n_possible_categories,
            )
            coefs = count_coefficients(ic, level, n_boot=n_boot, seed=seed, confidence=confidence)
            n_ann = int(grouping.n_annotators[g])
            for cname, coef in coefs.items():
                est = coef.estimate
                rows.append(
                    {
                        "grouping": grouping.name,
                        "group": name,
                        "coefficient": cname,
                        "value": est.value,
                        "ci_low": est.ci_low,
                        "ci_high": est.ci_high,
                        "n_items": coef.n_items,
                        "n_ratings": coef.n_ratings,
                        "n_annotators": n_ann,
                    }
                )
            return {
                "n_annotators": n_ann,
                "n_ratings": int(sel.sum()),
                "n_flagged_annotators": int(flagged[grouping.codes == g].sum()),
                **{cname: coef.as_dict() for cname, coef in coefs.items()},
            }

        section[grouping.name] = grouping.cells(k, cell)
    return section, pd.DataFrame(rows)


def _num(x: Any) -> Any:
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _records(frame: pd.DataFrame, rename: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """DataFrame rows as JSON-ready dicts (NaN -> None, numpy scalars -> Python)."""
    names = rename or {}
    return [
        {names.get(str(k), str(k)): _num(v) for k, v in rec.items()}
        for rec in frame.to_dict(orient="records")
    ]


def _ds_section(ann: Any, coded: CodedRatings) -> dict[str, Any]:
    ds = ann.dawid_skene
    if ds is None:
        return {"available": False, "note": ann.ds_note}
    return {
        "available": True,
        "categories": coded.categories,
        "class_priors": {c: float(p) for c, p in zip(coded.categories, ds.priors, strict=True)},
        "n_iter": ds.n_iter,
        "converged": ds.converged,
        "mean_log_likelihood": ds.log_likelihood,
        "confusion_layout": "ds_confusion[true][reported] in each annotator row, categories in this order",
    }


def _wva_section(frame: pd.DataFrame, groupings: list[Grouping], k: int) -> dict[str, Any]:
    section: dict[str, Any] = {}
    if frame.empty:
        return section
    fields = (
        "within_alpha",
        "across_alpha",
        "difference",
        "within_agreement",
        "across_agreement",
        "n_within_pairs",
        "n_across_pairs",
        "p_value",
        "p_value_permutation",
        "p_adjusted",
    )
    for grouping in groupings:
        part = frame[frame["grouping"] == grouping.name]
        overall = part[part["group"].isna()].iloc[0]
        entry: dict[str, Any] = {f: _num(overall[f]) for f in fields}
        entry["n_permutations"] = int(overall["n_permutations"])
        rows: dict[str, dict[str, Any]] = {
            str(row["group"]): {f: _num(row[f]) for f in fields} for _, row in part.iterrows()
        }
        entry["groups"] = grouping.cells(k, lambda _g, name: rows.get(name))  # noqa: B023 -- used at once
        section[grouping.name] = entry
    return section


def _suppressed_section(groupings: list[Grouping], k: int) -> dict[str, Any]:
    cells = [
        {"grouping": gr.name, "group": gr.groups[g], "reason": gr.suppressed(g, k)["reason"]}
        for gr in groupings
        for g in range(len(gr.groups))
        if gr.hidden[g]
    ]
    return {"k": k, "n_cells": len(cells), "cells": cells}


def _fmt(x: Any) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _findings(report: dict[str, Any]) -> list[str]:
    """Plain-language lines for the CLI and the report: the coefficients and what is significant."""
    out = []
    alpha = report["agreement"]["krippendorff_alpha"]
    out.append(
        f"Krippendorff's alpha ({report['params']['level']}) = {_fmt(alpha['value'])} "
        f"[{_fmt(alpha['ci_low'])}, {_fmt(alpha['ci_high'])}] over {alpha['n_items']} items"
    )
    flagged = [r for r in report["annotators"] if r.get("flagged")]
    if flagged:
        out.append(
            f"{len(flagged)} annotator(s) agree with the leave-one-out majority far less than the pool"
        )
    for name, entry in report["representation"].items():
        ref = entry.get("reference") or {}
        chi = ref.get("chi_square")
        if chi and chi["p_value"] is not None and chi["p_value"] < 0.05:
            out.append(
                f"{name}: annotators differ from the reference population "
                f"(TVD {_fmt(ref['tvd_annotators'])}, chi-square p = {chi['p_value']:.2g})"
            )
    for row in report["group_differences"]:
        if not row.get("significant"):
            continue
        who, p_adj = f"{row['grouping']}={row['group']}", f"p_adj = {row['p_adjusted']:.2g}"
        if row["test"] == "dissent":
            direction = "more" if row["effect"] > 0 else "less"
            out.append(
                f"{who}: disagrees with co-raters {direction} than the rest do on the same items "
                f"(difference {_fmt(row['effect'])} [{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}], {p_adj})"
            )
        elif row["effect_name"] == "cramers_v":
            shifts = row.get("category_shift") or {}
            label, top = max(shifts.items(), key=lambda kv: abs(kv[1]["value"] or 0.0), default=(None, None))
            detail = f"; {label!r} {top['value']:+.3f}" if label is not None and top else ""
            out.append(
                f"{who}: labels differently from the rest on the same items "
                f"(Cramér's V {_fmt(row['effect'])}{detail}, {p_adj})"
            )
        else:
            out.append(
                f"{who}: labels {'higher' if row['effect'] > 0 else 'lower'} than the rest on the same items "
                f"(mean difference {_fmt(row['effect'])} [{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}], {p_adj})"
            )
    for name, entry in report["within_vs_across"].items():
        for group, cell in [(None, entry), *entry["groups"].items()]:
            p_adj = cell.get("p_adjusted")
            if p_adj is None or p_adj >= 0.05:
                continue
            who = name if group is None else f"{name}={group}"
            direction = "more" if (cell["difference"] or 0) > 0 else "less"
            out.append(
                f"{who}: co-raters {'within' if group is None else 'in'} the same group agree "
                f"{direction} than across groups (alpha {_fmt(cell['within_alpha'])} vs "
                f"{_fmt(cell['across_alpha'])}, p_adj = {p_adj:.2g})"
            )
    welfare_section = report["welfare"]
    if welfare_section.get("available") and welfare_section["n_flagged"]:
        out.append(
            f"{welfare_section['n_flagged']} annotator(s) reviewed a share of harmful items at or above "
            f"{welfare_section['share_threshold']:.0%}"
        )
    return out
