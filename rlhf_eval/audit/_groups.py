"""Demographic groupings of annotators, representation against a reference population, and
concentration of labels among annotators.

A :class:`Grouping` is one attribute (``gender``) or a two-way intersection
(``gender&age_band``, groups ``female&18-29``). Each carries its small-cell suppression mask
(see ``_privacy``), computed once and applied to every section of the audit, so a group is
either shown everywhere or nowhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from rlhf_eval.audit._load import AnnotatorTable, CodedRatings
from rlhf_eval.audit._privacy import suppressed_cell, suppression_mask

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

SEP = "&"
_MONTE_CARLO_DRAWS = 20_000


@dataclass(frozen=True)
class Grouping:
    """Annotators split by one attribute or an intersection of two.

    ``codes[a]`` is annotator ``a``'s group (-1 = missing); ``hidden[g]`` marks suppressed
    groups; ``n_annotators[g]`` counts rated annotators per group.
    """

    name: str
    attributes: tuple[str, ...]
    codes: IntArray
    groups: list[str]
    n_annotators: IntArray
    hidden: BoolArray

    @property
    def intersection(self) -> bool:
        return len(self.attributes) > 1

    def suppressed(self, g: int, k: int) -> dict[str, Any]:
        """The marker for hidden group ``g``: too small, or hidden to protect a smaller one."""
        return suppressed_cell(k, complementary=bool(self.n_annotators[g] >= k))

    def cells(self, k: int, compute: Callable[[int, str], dict[str, Any] | None]) -> dict[str, Any]:
        """``{group: compute(code, group)}`` for visible groups and the suppression marker for
        hidden ones -- the one place where every section applies suppression. Groups for which
        ``compute`` returns None are left out."""
        out: dict[str, Any] = {}
        for g, name in enumerate(self.groups):
            if self.hidden[g]:
                out[name] = self.suppressed(g, k)
            elif self.n_annotators[g] > 0 and (cell := compute(g, name)) is not None:
                out[name] = cell
        return out

    def visible(self) -> list[int]:
        """Codes of the groups that may be shown (at least one annotator, not suppressed)."""
        return [g for g in range(len(self.groups)) if not self.hidden[g] and self.n_annotators[g] > 0]


def build_groupings(table: AnnotatorTable, *, k: int, intersections: bool = True) -> list[Grouping]:
    """One grouping per attribute, plus every two-way intersection when ``intersections``."""
    out: list[Grouping] = []
    for attr in table.attributes:
        codes = table.codes[attr]
        n = np.bincount(codes[codes >= 0], minlength=len(table.groups[attr]))
        out.append(Grouping(attr, (attr,), codes, table.groups[attr], n, suppression_mask(n, k)))
    if not intersections:
        return out
    for a1, a2 in itertools.combinations(table.attributes, 2):
        c1, c2 = table.codes[a1], table.codes[a2]
        g1, g2 = len(table.groups[a1]), len(table.groups[a2])
        both = (c1 >= 0) & (c2 >= 0)
        cell = np.where(both, c1 * g2 + c2, -1)
        grid = np.bincount(cell[both], minlength=g1 * g2).reshape(g1, g2)
        hidden_grid = suppression_mask(grid, k)
        occurring = np.flatnonzero(grid.ravel() > 0)
        compact = np.full(g1 * g2, -1, dtype=np.int64)
        compact[occurring] = np.arange(len(occurring))
        codes = np.where(both, compact[np.clip(cell, 0, None)], -1).astype(np.int64)
        names = [f"{table.groups[a1][c // g2]}{SEP}{table.groups[a2][c % g2]}" for c in occurring]
        out.append(
            Grouping(
                f"{a1}{SEP}{a2}",
                (a1, a2),
                codes,
                names,
                grid.ravel()[occurring].astype(np.int64),
                hidden_grid.ravel()[occurring],
            )
        )
    return out


def rating_groups(grouping: Grouping, coded: CodedRatings) -> IntArray:
    """The group code of every rating (its annotator's group; -1 = missing)."""
    return np.asarray(grouping.codes[coded.annotator], dtype=np.int64)


def representation(
    coded: CodedRatings,
    groupings: list[Grouping],
    reference: dict[str, dict[str, float]] | None,
    *,
    k: int,
    seed: int = 0,
) -> tuple[dict[str, Any], pd.DataFrame, list[str]]:
    """Who the annotators are and whose labels these are, per grouping.

    Returns the JSON section, a DataFrame (one row per group, suppressed groups without
    numbers) and warnings. Goodness of fit against the reference population is tested on
    annotator counts, with the suppressed groups pooled into one bin so no hidden count can
    be solved for; labels are clustered by annotator, so they get a distance (TVD) only.
    """
    warnings: list[str] = []
    section: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    reference = reference or {}
    n_rated = coded.n_annotators
    for grouping in groupings:
        labels = np.bincount(
            grouping.codes[coded.annotator][grouping.codes[coded.annotator] >= 0],
            minlength=len(grouping.groups),
        )
        n_known = int(grouping.n_annotators.sum())
        n_labels_known = int(labels.sum())
        ref = reference.get(grouping.name)
        groups: dict[str, Any] = {}
        for g, name in enumerate(grouping.groups):
            row: dict[str, Any] = {"grouping": grouping.name, "group": name}
            if grouping.hidden[g]:
                groups[name] = grouping.suppressed(g, k)
                rows.append({**row, "suppressed": True})
                continue
            cell = {
                "n_annotators": int(grouping.n_annotators[g]),
                "annotator_share": grouping.n_annotators[g] / n_known if n_known else None,
                "n_labels": int(labels[g]),
                "label_share": labels[g] / n_labels_known if n_labels_known else None,
                "reference_share": ref.get(name) if ref is not None else None,
            }
            groups[name] = cell
            rows.append({**row, **cell, "suppressed": False})
        if ref is not None:
            for name, share in ref.items():
                if name not in groups:
                    cell = {
                        "n_annotators": 0,
                        "annotator_share": 0.0,
                        "n_labels": 0,
                        "label_share": 0.0,
                        "reference_share": share,
                    }
                    groups[name] = cell
                    rows.append({"grouping": grouping.name, "group": name, **cell, "suppressed": False})
        entry: dict[str, Any] = {
            "attributes": list(grouping.attributes),
            "intersection": grouping.intersection,
            "n_annotators_known": n_known,
            "n_annotators_missing": n_rated - n_known,
            "groups": groups,
            "reference": None,
        }
        if ref is not None:
            entry["reference"], more = _goodness_of_fit(grouping, labels, ref, seed=seed)
            warnings.extend(more)
        section[grouping.name] = entry
    return section, pd.DataFrame(rows), warnings


def _goodness_of_fit(
    grouping: Grouping, labels: IntArray, ref: dict[str, float], *, seed: int
) -> tuple[dict[str, Any], list[str]]:
    warnings: list[str] = []
    index = {name: g for g, name in enumerate(grouping.groups)}
    unknown = [name for name in grouping.groups if name not in ref]
    if unknown:
        warnings.append(
            f"reference population has no share for {grouping.name} group(s) {', '.join(unknown[:5])}; "
            "their annotators are left out of the goodness-of-fit test"
        )
    obs_a: list[float] = []
    obs_l: list[float] = []
    exp: list[float] = []
    pooled_a = pooled_l = pooled_e = 0.0
    for name, share in ref.items():
        g = index.get(name)
        n_a = float(grouping.n_annotators[g]) if g is not None else 0.0
        n_l = float(labels[g]) if g is not None else 0.0
        if g is not None and grouping.hidden[g]:
            pooled_a, pooled_l, pooled_e = pooled_a + n_a, pooled_l + n_l, pooled_e + share
        else:
            obs_a.append(n_a)
            obs_l.append(n_l)
            exp.append(share)
    if pooled_e > 0 or pooled_a > 0:
        obs_a.append(pooled_a)
        obs_l.append(pooled_l)
        exp.append(pooled_e)
    o = np.array(obs_a)
    lab = np.array(obs_l)
    p_ref = np.array(exp) / max(sum(exp), 1e-300)
    n = o.sum()
    result: dict[str, Any] = {
        "n_annotators_tested": int(n),
        "suppressed_groups_pooled": bool(pooled_e > 0 or pooled_a > 0),
        "tvd_annotators": float(0.5 * np.abs(o / n - p_ref).sum()) if n else None,
        "tvd_labels": float(0.5 * np.abs(lab / lab.sum() - p_ref).sum()) if lab.sum() else None,
        "chi_square": None,
    }
    positive = p_ref > 0
    if n > 0 and positive.sum() >= 2 and not (o[~positive] > 0).any():
        e = n * p_ref[positive]
        statistic = float(((o[positive] - e) ** 2 / e).sum())
        df = int(positive.sum() - 1)
        if e.min() < 5:
            rng = np.random.default_rng(seed)
            sims = rng.multinomial(int(n), p_ref[positive], size=_MONTE_CARLO_DRAWS)
            sim_stat = ((sims - e) ** 2 / e).sum(axis=1)
            p = (1 + int((sim_stat >= statistic - 1e-9).sum())) / (1 + _MONTE_CARLO_DRAWS)
            method = f"monte_carlo ({_MONTE_CARLO_DRAWS} draws; some expected counts < 5)"
        else:
            p = float(stats.chi2.sf(statistic, df))
            method = "asymptotic"
        result["chi_square"] = {"statistic": statistic, "df": df, "p_value": p, "method": method}
    return result, warnings


def concentration(coded: CodedRatings) -> dict[str, Any]:
    """How concentrated the labels are among annotators: HHI, effective number, top-k shares, Gini."""
    counts = np.sort(np.bincount(coded.annotator, minlength=coded.n_annotators).astype(np.float64))[::-1]
    total = counts.sum()
    share = counts / total
    hhi = float((share**2).sum())
    n = len(counts)
    decile = max(1, int(np.ceil(n / 10)))
    cum = np.cumsum(np.sort(counts))
    gini = float((n + 1 - 2 * (cum / cum[-1]).sum()) / n) if n else float("nan")
    return {
        "n_annotators": n,
        "n_labels": int(total),
        "hhi": hhi,
        "hhi_normalized": (hhi - 1.0 / n) / (1.0 - 1.0 / n) if n > 1 else None,
        "effective_n_annotators": 1.0 / hhi,
        "top1_share": float(share[:1].sum()),
        "top5_share": float(share[:5].sum()),
        "top10_share": float(share[:10].sum()),
        "top_decile_share": float(share[:decile].sum()),
        "gini": gini,
    }
