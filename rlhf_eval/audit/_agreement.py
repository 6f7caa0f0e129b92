"""Agreement coefficients with item-bootstrap CIs: percent agreement, Fleiss' kappa, Gwet's AC1,
Krippendorff's alpha, pairwise and weighted Cohen's kappa.

Conventions (documented in ``rlhf_eval/audit/README.md``):

* Items with a single rating cannot show agreement: they are excluded from observed
  agreement and counted (``n_excluded_items``). Following Gwet (2014) and irrCAC, Fleiss'
  kappa and AC1 still use them for the category prevalences ``pi_c = mean_u n_uc / m_u``.
* Percent agreement is the mean over items of the share of agreeing rating pairs.
* Fleiss' kappa generalised to items with different numbers of raters:
  ``(pa - sum pi_c^2) / (1 - sum pi_c^2)``. Gwet's AC1 uses
  ``pe = sum pi_c (1 - pi_c) / (q - 1)`` with ``q`` the number of possible categories.
* Pairwise Cohen's kappa: Cohen's kappa of every annotator pair that shares at least
  ``min_shared_items`` items, averaged with weights = shared items. With two annotators it
  is the classic kappa. Its bootstrap touches every co-rating once per replicate, so on very
  large tables the replicates are capped by ``COHEN_BOOTSTRAP_BUDGET`` (reported as
  ``n_bootstrap`` in the coefficient). Weighted kappa uses linear (ordinal) or quadratic (interval, ratio)
  disagreement weights on category positions.
* Undefined values (no variation: one category only; no pairable items) are NaN in Python
  and ``null`` in JSON, with a ``note``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from rlhf_eval.audit._bootstrap import DEFAULT_N_BOOTSTRAP, Estimate, item_bootstrap
from rlhf_eval.audit._counts import ItemCounts
from rlhf_eval.audit._krippendorff import AlphaFeatures
from rlhf_eval.audit._load import CodedRatings, encode_ratings
from rlhf_eval.audit._pairs import pairs_within
from rlhf_eval.errors import UserError

FloatArray = npt.NDArray[np.float64]

COEFFICIENTS = (
    "krippendorff_alpha",
    "percent_agreement",
    "fleiss_kappa",
    "gwet_ac1",
    "cohen_kappa",
    "weighted_cohen_kappa",
)
DEFAULT_MIN_SHARED_ITEMS = 10
#: co-ratings x replicates allowed for the pairwise Cohen bootstrap (about 3 s on 2 cores); above
#: it fewer replicates are drawn (never fewer than 200) and the number used is reported.
COHEN_BOOTSTRAP_BUDGET = 400_000_000


class ChanceFeatures:
    """Per-unit features of percent agreement, Fleiss' kappa and Gwet's AC1."""

    def __init__(self, ic: ItemCounts, *, offset: int = 0) -> None:
        m = ic.per_item()
        pairable = m >= 2
        m_e = m[ic.item]
        same = ic.per_item(ic.count * (ic.count - 1.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            pa_u = np.where(pairable, same / np.where(pairable, m * (m - 1.0), 1.0), 0.0)
        self.n_cat = ic.n_categories
        self.q = ic.n_possible_categories
        self.offset = offset
        dense = np.column_stack([pa_u, pairable.astype(np.float64), (m >= 1).astype(np.float64)])
        pi = ic.category_matrix(ic.count / np.where(m_e > 0, m_e, 1.0))
        self.columns = sp.hstack([sp.csr_matrix(dense), pi], format="csr")
        self.width = self.columns.shape[1]

    def _parts(self, sums: FloatArray) -> tuple[FloatArray, FloatArray]:
        s = sums[:, self.offset : self.offset + self.width]
        with np.errstate(invalid="ignore", divide="ignore"):
            pa = s[:, 0] / s[:, 1]
            pi = s[:, 3:] / s[:, 2:3]
        return pa, pi

    def percent_agreement(self, sums: FloatArray) -> FloatArray:
        return self._parts(sums)[0]

    def fleiss_kappa(self, sums: FloatArray) -> FloatArray:
        pa, pi = self._parts(sums)
        pe = (pi * pi).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(pe < 1.0 - 1e-12, (pa - pe) / (1.0 - pe), np.nan)

    def gwet_ac1(self, sums: FloatArray) -> FloatArray:
        pa, pi = self._parts(sums)
        if self.q < 2:
            return np.full(len(pa), np.nan)
        pe = (pi * (1.0 - pi)).sum(axis=1) / (self.q - 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(pe < 1.0 - 1e-12, (pa - pe) / (1.0 - pe), np.nan)


def disagreement_weights(n_cat: int, weights: str | None) -> FloatArray:
    """Cohen disagreement weights on category positions: None (0/1), linear or quadratic."""
    idx = np.arange(n_cat, dtype=np.float64)
    diff = np.abs(idx[:, None] - idx[None, :])
    if weights is None or weights == "none":
        return (diff > 0).astype(np.float64)
    scale = max(n_cat - 1, 1)
    if weights == "linear":
        return np.asarray(diff / scale, dtype=np.float64)
    if weights == "quadratic":
        return np.asarray((diff / scale) ** 2, dtype=np.float64)
    raise UserError(f"weights {weights!r}: expected None, 'linear' or 'quadratic'")


def cohen_kappa(confusion: npt.ArrayLike, weights: str | None = None) -> float:
    """Cohen's kappa of a two-rater confusion matrix (rows rater 1, columns rater 2).

    ``weights``: None (unweighted), ``"linear"`` or ``"quadratic"`` disagreement weights.
    NaN when chance disagreement is zero (both raters used one and the same category).
    """
    conf = np.asarray(confusion, dtype=np.float64)
    if conf.ndim != 2 or conf.shape[0] != conf.shape[1]:
        raise UserError(f"confusion: expected a square matrix, got shape {conf.shape}")
    return float(_kappa_batch(conf[None, None], disagreement_weights(conf.shape[0], weights))[0][0, 0])


def _kappa_batch(conf: FloatArray, v: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Kappa and n for confusion matrices of shape ``(b, pairs, C, C)``."""
    n = conf.sum(axis=(2, 3))
    rows = conf.sum(axis=3)
    cols = conf.sum(axis=2)
    observed = np.einsum("bpij,ij->bp", conf, v)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.einsum("bpi,ij,bpj->bp", rows, v, cols) / n
        kappa = 1.0 - observed / expected
    return np.where((n > 0) & (expected > 1e-12), kappa, np.nan), n


@dataclass(frozen=True)
class PairTable:
    """Annotator pairs that co-rated enough items, for pairwise Cohen's kappa."""

    item: npt.NDArray[np.int64]  # item of each qualifying co-rating
    pair: npt.NDArray[np.int64]  # index of the annotator pair, 0..n_pairs-1
    label_1: npt.NDArray[np.int64]  # label of the pair's first (lower-code) annotator
    label_2: npt.NDArray[np.int64]
    n_pairs: int
    n_items: int
    n_ratings: int


def annotator_pairs(coded: CodedRatings, min_shared_items: int) -> PairTable:
    """Every co-rating of an item by two annotators, kept for pairs sharing enough items."""
    order = np.argsort(coded.item, kind="stable")
    item = coded.item[order]
    i, j = pairs_within(item)
    a1, a2 = coded.annotator[order][i], coded.annotator[order][j]
    l1, l2 = coded.label[order][i], coded.label[order][j]
    swap = a1 > a2
    a1, a2 = np.where(swap, a2, a1), np.where(swap, a1, a2)
    l1, l2 = np.where(swap, l2, l1), np.where(swap, l1, l2)
    pair_codes, _ = pd.factorize(a1 * max(coded.n_annotators, 1) + a2)
    shared = np.bincount(pair_codes) if len(pair_codes) else np.zeros(0, dtype=np.int64)
    qualifies = shared >= min_shared_items
    keep = qualifies[pair_codes] if len(pair_codes) else np.zeros(0, dtype=bool)
    new_index = np.cumsum(qualifies) - 1
    used = np.zeros(coded.n_ratings, dtype=bool)
    used[order[i][keep]] = True
    used[order[j][keep]] = True
    kept_items = item[i][keep]
    return PairTable(
        item=kept_items,
        pair=new_index[pair_codes[keep]].astype(np.int64),
        label_1=l1[keep].astype(np.int64),
        label_2=l2[keep].astype(np.int64),
        n_pairs=int(qualifies.sum()),
        n_items=int((np.bincount(kept_items, minlength=coded.n_items) > 0).sum()),
        n_ratings=int(used.sum()),
    )


class CohenFeatures:
    """Per-item features of pairwise Cohen's kappa, summed into per-pair tables by the bootstrap.

    Few categories (C <= 8): one column per (pair, label_1, label_2) cell, one nonzero per
    co-rating. More categories: per pair the count, the observed disagreement under each
    weighting and the two raters' marginals (4 + 2C columns instead of C^2), so 1-100 scales
    stay small.
    """

    SCHEMES: tuple[str | None, ...] = (None, "linear", "quadratic")

    def __init__(self, coded: CodedRatings, pairs: PairTable) -> None:
        c = coded.n_categories
        self.n_cat = c
        self.n_pairs = pairs.n_pairs
        self.compact = c > 8
        n_obs = len(pairs.item)
        if not self.compact:
            cols = pairs.pair * c * c + pairs.label_1 * c + pairs.label_2
            self.width_per_pair = c * c
            values = np.ones(n_obs)
            rows = pairs.item
        else:
            self.width_per_pair = 4 + 2 * c
            base = pairs.pair * self.width_per_pair
            parts_cols = [base, base + 4 + pairs.label_1, base + 4 + c + pairs.label_2]
            parts_vals = [np.ones(n_obs), np.ones(n_obs), np.ones(n_obs)]
            for k, scheme in enumerate(self.SCHEMES):
                parts_cols.append(base + 1 + k)
                parts_vals.append(disagreement_weights(c, scheme)[pairs.label_1, pairs.label_2])
            cols = np.concatenate(parts_cols)
            values = np.concatenate(parts_vals)
            rows = np.tile(pairs.item, len(parts_cols))
        self.columns = sp.csr_matrix(
            (values, (rows, cols)), shape=(coded.n_items, max(pairs.n_pairs, 1) * self.width_per_pair)
        )

    def statistic(self, weights: str | None) -> Any:
        v = disagreement_weights(self.n_cat, weights)
        c = self.n_cat

        def stat(sums: FloatArray) -> FloatArray:
            if self.n_pairs == 0:
                return np.full(sums.shape[0], np.nan)
            per_pair = sums.reshape(sums.shape[0], self.n_pairs, self.width_per_pair)
            if not self.compact:
                kappa, n = _kappa_batch(per_pair.reshape(sums.shape[0], self.n_pairs, c, c), v)
            else:
                n = per_pair[..., 0]
                observed = per_pair[..., 1 + self.SCHEMES.index(weights)]
                rows, cols = per_pair[..., 4 : 4 + c], per_pair[..., 4 + c :]
                with np.errstate(invalid="ignore", divide="ignore"):
                    expected = np.einsum("bpi,ij,bpj->bp", rows, v, cols) / n
                    kappa = np.where((n > 0) & (expected > 1e-12), 1.0 - observed / expected, np.nan)
            w = np.where(np.isfinite(kappa), n, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.asarray(np.nansum(kappa * w, axis=1) / w.sum(axis=1), dtype=np.float64)

        return stat


def pairwise_cohen_kappa(
    ratings: CodedRatings | pd.DataFrame,
    *,
    weights: str | None = None,
    min_shared_items: int = DEFAULT_MIN_SHARED_ITEMS,
) -> float:
    """Mean Cohen's kappa over annotator pairs sharing ``min_shared_items`` items (weights = shared items)."""
    coded = _as_coded(ratings, "nominal")
    pairs = annotator_pairs(coded, min_shared_items)
    feats = CohenFeatures(coded, pairs)
    totals = np.asarray(feats.columns.sum(axis=0), dtype=np.float64).reshape(1, -1)
    return float(feats.statistic(weights)(totals)[0])


def _as_coded(ratings: CodedRatings | pd.DataFrame, level: str) -> CodedRatings:
    if isinstance(ratings, CodedRatings):
        return ratings
    return encode_ratings(ratings, level=level, name="ratings")


def _as_counts(data: ItemCounts | CodedRatings | pd.DataFrame | Any, level: str) -> ItemCounts:
    if isinstance(data, ItemCounts):
        return data
    if isinstance(data, (CodedRatings, pd.DataFrame)):
        coded = _as_coded(data, level)
        return ItemCounts.from_codes(
            coded.item,
            coded.label,
            n_items=coded.n_items,
            values=coded.values,
            n_possible_categories=coded.n_possible_categories,
        )
    return ItemCounts.from_matrix(data)


def krippendorff_alpha(data: ItemCounts | CodedRatings | pd.DataFrame | Any, level: str = "nominal") -> float:
    """Krippendorff's alpha (NaN when undefined).

    ``data``: an :class:`ItemCounts`, a long ratings DataFrame (``item_id``,
    ``annotator_id``, ``label``) or a raters x items matrix with None for missing.
    """
    from rlhf_eval.audit._krippendorff import alpha_from_counts

    return alpha_from_counts(_as_counts(data, level), level)


def _chance(data: ItemCounts | CodedRatings | pd.DataFrame | Any) -> tuple[ChanceFeatures, FloatArray]:
    feats = ChanceFeatures(_as_counts(data, "nominal"))
    return feats, np.asarray(feats.columns.sum(axis=0), dtype=np.float64).reshape(1, -1)


def fleiss_kappa(data: ItemCounts | CodedRatings | pd.DataFrame | Any) -> float:
    """Fleiss' kappa, generalised to items with different numbers of raters."""
    feats, totals = _chance(data)
    return float(feats.fleiss_kappa(totals)[0])


def gwet_ac1(data: ItemCounts | CodedRatings | pd.DataFrame | Any) -> float:
    """Gwet's AC1 (first-order agreement coefficient)."""
    feats, totals = _chance(data)
    return float(feats.gwet_ac1(totals)[0])


def percent_agreement(data: ItemCounts | CodedRatings | pd.DataFrame | Any) -> float:
    """Mean over items (with two or more ratings) of the share of agreeing rating pairs."""
    feats, totals = _chance(data)
    return float(feats.percent_agreement(totals)[0])


@dataclass(frozen=True)
class Coefficient:
    """One agreement coefficient: estimate, interval and the data it rests on."""

    name: str
    estimate: Estimate
    n_items: int
    n_ratings: int
    note: str | None = None
    extra: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.estimate.as_dict(),
            "n_items": self.n_items,
            "n_ratings": self.n_ratings,
        }
        if self.extra:
            out.update(self.extra)
        if self.note:
            out["note"] = self.note
        return out


def weighted_kappa_scheme(level: str) -> str | None:
    """Disagreement weights used for the weighted Cohen's kappa at each level (None at nominal)."""
    return {"ordinal": "linear", "interval": "quadratic", "ratio": "quadratic"}.get(level)


def count_coefficients(
    ic: ItemCounts, level: str, *, n_boot: int = DEFAULT_N_BOOTSTRAP, seed: int = 0, confidence: float = 0.95
) -> dict[str, Coefficient]:
    """Alpha, percent agreement, Fleiss' kappa and AC1 of one set of items, sharing one bootstrap."""
    units, mult = ic.compress()
    alpha = AlphaFeatures(units, level)
    chance = ChanceFeatures(units, offset=alpha.width)
    features = sp.hstack([alpha.columns, chance.columns], format="csr")
    if mult is not None:
        features = features.toarray()
    estimates = item_bootstrap(
        features,
        {
            "krippendorff_alpha": alpha.statistic,
            "percent_agreement": chance.percent_agreement,
            "fleiss_kappa": chance.fleiss_kappa,
            "gwet_ac1": chance.gwet_ac1,
        },
        n_boot=n_boot,
        seed=seed,
        multiplicity=mult,
        confidence=confidence,
    )
    m = ic.per_item()
    n_items = int((m >= 2).sum())
    n_ratings = int(m[m >= 2].sum())
    out: dict[str, Coefficient] = {}
    for name, est in estimates.items():
        note = _undefined_note(name, est, n_items, ic) if not math.isfinite(est.value) else None
        extra: dict[str, Any] = {"level": level} if name == "krippendorff_alpha" else {}
        if name == "krippendorff_alpha" and level == "ordinal" and not alpha.ordinal_exact:
            extra["ci_note"] = "mid-ranks held at their full-sample values within bootstrap replicates"
        out[name] = Coefficient(name, est, n_items, n_ratings, note, extra or None)
    return out


def _undefined_note(name: str, est: Estimate, n_items: int, ic: ItemCounts) -> str:
    if n_items == 0:
        return "undefined: no item has two or more ratings"
    m = ic.per_item()
    used = np.unique(ic.cat[(m >= 2)[ic.item]])
    if len(used) < 2:
        return "undefined: every rating has the same value (no variation, chance agreement is 1)"
    return "undefined for these data"


def agreement(
    ratings: CodedRatings | pd.DataFrame,
    *,
    level: str = "nominal",
    n_boot: int = DEFAULT_N_BOOTSTRAP,
    seed: int = 0,
    min_shared_items: int = DEFAULT_MIN_SHARED_ITEMS,
    confidence: float = 0.95,
) -> dict[str, Coefficient]:
    """Every agreement coefficient with a 95 % item-bootstrap interval, keyed by name."""
    coded = _as_coded(ratings, level)
    ic = ItemCounts.from_codes(
        coded.item,
        coded.label,
        n_items=coded.n_items,
        values=coded.values,
        n_possible_categories=coded.n_possible_categories,
    )
    out = count_coefficients(ic, level, n_boot=n_boot, seed=seed, confidence=confidence)
    out.update(
        cohen_coefficients(
            coded, level, n_boot=n_boot, seed=seed, min_shared_items=min_shared_items, confidence=confidence
        )
    )
    return out


def cohen_coefficients(
    coded: CodedRatings,
    level: str,
    *,
    n_boot: int,
    seed: int,
    min_shared_items: int,
    confidence: float = 0.95,
) -> dict[str, Coefficient]:
    """Pairwise and weighted Cohen's kappa with item-bootstrap intervals."""
    pairs = annotator_pairs(coded, min_shared_items)
    scheme = weighted_kappa_scheme(level)
    feats = CohenFeatures(coded, pairs)
    stats = {"cohen_kappa": feats.statistic(None)}
    if scheme is not None:
        stats["weighted_cohen_kappa"] = feats.statistic(scheme)
    n_used = min(n_boot, max(200, COHEN_BOOTSTRAP_BUDGET // max(len(pairs.item), 1))) if pairs.n_pairs else 0
    est = item_bootstrap(feats.columns, stats, n_boot=n_used, seed=seed, confidence=confidence)
    extra: dict[str, Any] = {"n_annotator_pairs": pairs.n_pairs, "min_shared_items": min_shared_items}
    if n_used < n_boot:
        extra["n_bootstrap"] = n_used
    note = None if pairs.n_pairs else f"undefined: no annotator pair shares {min_shared_items} or more items"
    out = {
        "cohen_kappa": Coefficient(
            "cohen_kappa", est["cohen_kappa"], pairs.n_items, pairs.n_ratings, note, extra
        )
    }
    if scheme is not None:
        out["weighted_cohen_kappa"] = Coefficient(
            "weighted_cohen_kappa",
            est["weighted_cohen_kappa"],
            pairs.n_items,
            pairs.n_ratings,
            note,
            {**extra, "weights": scheme},
        )
    else:
        out["weighted_cohen_kappa"] = Coefficient(
            "weighted_cohen_kappa",
            Estimate(math.nan),
            pairs.n_items,
            pairs.n_ratings,
            "undefined at nominal level: categories have no order (use --level ordinal or interval)",
            {**extra, "weights": None},
        )
    return out


def agreement_frame(coefficients: dict[str, Coefficient]) -> pd.DataFrame:
    """The coefficients as a DataFrame indexed by name (value, ci_low, ci_high, n_items, n_ratings, note)."""
    rows = []
    for name, coef in coefficients.items():
        rows.append(
            {
                "coefficient": name,
                "value": coef.estimate.value,
                "ci_low": coef.estimate.ci_low,
                "ci_high": coef.estimate.ci_high,
                "n_items": coef.n_items,
                "n_ratings": coef.n_ratings,
                "note": coef.note,
            }
        )
    return pd.DataFrame(rows).set_index("coefficient")
