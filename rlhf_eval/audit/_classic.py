"""Classic companions of the agreement coefficients: chance-model variants and analytic
standard errors, matching their published formulas (and irrCAC / SAS / statsmodels).

The audit reports item-bootstrap intervals; these are for users who need the textbook
numbers (and for checking the implementation against published worked examples).

* Brennan-Prediger / Randolph free-marginal kappa: ``(pa - 1/q) / (1 - 1/q)``.
* Conger's kappa: Fleiss' observed agreement with chance agreement from each rater's own
  category distribution (Conger 1980; irrCAC's ``conger.kappa.raw``).
* Fleiss' per-category kappas and the standard error under H0 (Fleiss, Nee & Landis 1979),
  for items with the same number of ratings.
* Gwet's (2014) large-sample standard error of Fleiss' kappa for any design.
* Cohen's kappa asymptotic standard errors: non-null (Fleiss, Cohen & Everitt 1969) and null.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from rlhf_eval.audit._counts import ItemCounts
from rlhf_eval.audit._load import CodedRatings
from rlhf_eval.errors import UserError

FloatArray = npt.NDArray[np.float64]


def _observed(ic: ItemCounts) -> tuple[FloatArray, FloatArray, float]:
    """(dense counts, ratings per item, percent agreement over items with 2+ ratings)."""
    counts = ic.dense()
    m = counts.sum(axis=1)
    two = m >= 2
    pa = (
        float(((counts * (counts - 1)).sum(axis=1)[two] / (m * (m - 1))[two]).mean())
        if two.any()
        else math.nan
    )
    return counts, m, pa


def brennan_prediger(ic: ItemCounts) -> float:
    """Brennan-Prediger (Randolph's free-marginal) kappa with ``q`` possible categories."""
    _, _, pa = _observed(ic)
    q = ic.n_possible_categories
    return (pa - 1.0 / q) / (1.0 - 1.0 / q) if q > 1 else math.nan


def conger_kappa(coded: CodedRatings) -> float:
    """Conger's kappa: chance agreement from each rater's own category proportions."""
    ic = ItemCounts.from_codes(coded.item, coded.label, n_items=coded.n_items, values=coded.values)
    _, _, pa = _observed(ic)
    r, q = coded.n_annotators, coded.n_categories
    classif = np.bincount(coded.annotator * q + coded.label, minlength=r * q).reshape(r, q).astype(np.float64)
    pgk = classif / classif.sum(axis=1, keepdims=True)
    pk = pgk.mean(axis=0)
    if r < 2:
        return math.nan
    s2 = (pgk.T @ pgk - r * np.outer(pk, pk)) / (r - 1)
    pe = float(np.trace(np.outer(pk, pk) - s2 / r))
    return (pa - pe) / (1.0 - pe) if pe < 1.0 else math.nan


def _constant_m(counts: FloatArray, m: FloatArray) -> float:
    if len(m) == 0 or not np.all(m == m[0]) or m[0] < 2:
        raise UserError("this formula needs every item to have the same number (2 or more) of ratings")
    return float(m[0])


def fleiss_category_kappas(ic: ItemCounts) -> FloatArray:
    """Fleiss' kappa of each category against the rest (equal ratings per item)."""
    counts, m, _ = _observed(ic)
    k = _constant_m(counts, m)
    n = len(m)
    p = counts.sum(axis=0) / (n * k)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 1.0 - (counts * (k - counts)).sum(axis=0) / (n * k * (k - 1) * p * (1 - p))
    return np.asarray(out, dtype=np.float64)


def fleiss_kappa_se_h0(ic: ItemCounts) -> float:
    """Standard error of Fleiss' kappa under H0 of chance agreement (equal ratings per item)."""
    counts, m, _ = _observed(ic)
    k = _constant_m(counts, m)
    n = len(m)
    p = counts.sum(axis=0) / (n * k)
    pq = p * (1 - p)
    total = pq.sum()
    return float(
        math.sqrt(2.0) / (total * math.sqrt(n * k * (k - 1))) * math.sqrt(total**2 - (pq * (1 - 2 * p)).sum())
    )


def fleiss_kappa_se(ic: ItemCounts) -> float:
    """Gwet's (2014) standard error of Fleiss' kappa (any numbers of ratings, infinite population)."""
    counts, m, pa = _observed(ic)
    keep = m >= 1
    counts, m = counts[keep], m[keep]
    n = len(m)
    two = m >= 2
    pa_i = np.where(two, (counts * (counts - 1)).sum(axis=1) / np.where(two, m * (m - 1), 1.0), 0.0)
    pi = (counts / m[:, None]).mean(axis=0)
    pe = float((pi**2).sum())
    kappa = (pa - pe) / (1 - pe)
    pe_i = counts @ pi / m
    k_i = (n / two.sum()) * (pa_i - pe) / (1 - pe)
    k_star = k_i - 2 * (1 - kappa) * (pe_i - pe) / (1 - pe)
    return float(math.sqrt(((k_star - kappa) ** 2).sum() / (n * (n - 1))))


def cohen_kappa_inference(confusion: npt.ArrayLike, confidence: float = 0.95) -> dict[str, Any]:
    """Cohen's kappa with its asymptotic SE, a Wald CI, the SE under H0 and the z statistic."""
    conf = np.asarray(confusion, dtype=np.float64)
    n = conf.sum()
    p = conf / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    po, pe = float(np.trace(p)), float(rows @ cols)
    kappa = (po - pe) / (1 - pe)
    diag = np.diag(p)
    term1 = (diag * (1 - (rows + cols) * (1 - kappa)) ** 2).sum()
    off = p.copy()
    np.fill_diagonal(off, 0.0)
    term2 = (1 - kappa) ** 2 * (off * (cols[:, None] + rows[None, :]) ** 2).sum()
    term3 = (kappa - pe * (1 - kappa)) ** 2
    ase = math.sqrt((term1 + term2 - term3) / (n * (1 - pe) ** 2))
    ase0 = math.sqrt((pe + pe**2 - (rows * cols * (rows + cols)).sum()) / (n * (1 - pe) ** 2))
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    return {
        "kappa": kappa,
        "ase": ase,
        "ci_low": kappa - z * ase,
        "ci_high": kappa + z * ase,
        "ase_h0": ase0,
        "z": kappa / ase0,
    }
