"""Minimum detectable effects (MDE) of paired designs: what a null result can and cannot rule out.

An MDE is the smallest true difference that a two-sided test at level ``alpha`` would
detect with probability ``power`` at this sample size. Report it next to every
non-significant delta: "no significant change" only means "no change larger than the MDE
was likely to be missed".
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy import optimize as _opt
from scipy import stats as _st


def mde_paired_proportion(n: float, discordance: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """MDE of a paired difference of proportions (McNemar), Connor (1987).

    Solves ``n * delta**2 = (z_{1-alpha/2} * sqrt(psi) + z_{power} * sqrt(psi - delta**2))**2``
    for ``delta``, where ``psi`` is the discordance rate ``(b + c) / n``. A result larger than
    ``psi`` means no change is detectable at that discordance (see :func:`mde_detectable`).
    With no observed discordant pair, ``psi`` is taken to be the change itself (the changed
    items all move the same way: the least discordance a change of ``delta`` implies).
    Returns ``nan`` when ``n`` is too small for any change to reach significance.
    """
    if n <= 0:
        return float("nan")
    za = float(_st.norm.ppf(1 - alpha / 2))
    zb = float(_st.norm.ppf(power))
    root_n = math.sqrt(n)
    if discordance <= 0:

        def gap0(delta: float) -> float:
            return delta * root_n - za * math.sqrt(delta) - zb * math.sqrt(max(delta - delta * delta, 0.0))

        if gap0(1.0) <= 0:
            return float("nan")
        return float(_opt.brentq(gap0, 1e-12, 1.0, xtol=1e-12))
    psi = min(float(discordance), 1.0)
    root_psi = math.sqrt(psi)

    def gap(delta: float) -> float:
        return delta * root_n - za * root_psi - zb * math.sqrt(max(psi - delta * delta, 0.0))

    if gap(root_psi) <= 0:
        return float("nan")
    return float(_opt.brentq(gap, 0.0, root_psi, xtol=1e-12))


def mde_detectable(mde: float, discordance: float | None) -> bool:
    """Whether an MDE is attainable: finite, and (for a paired rate) not above the observed discordance.

    A paired change cannot exceed the share of items that changed, so an MDE above the
    observed discordance means nothing is detectable at this n: report "not detectable at
    this n" rather than the number.
    """
    if not math.isfinite(mde):
        return False
    return discordance is None or discordance <= 0 or mde <= discordance + 1e-12


def mde_paired_mean(sd_diff: float, n: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """MDE of a mean paired difference for a two-sided one-sample t-test on the differences.

    Exact under normality: finds the noncentrality ``lam`` with
    ``P(|T'| > t_{1-alpha/2, n-1}) = power`` for ``T' ~ nct(n-1, lam)`` and returns
    ``lam * sd_diff / sqrt(n)`` (about ``2.8 * sd / sqrt(n)`` for large ``n``). ``nan`` if ``n < 2``.
    """
    if n < 2 or not math.isfinite(sd_diff):
        return float("nan")
    if sd_diff == 0:
        return 0.0
    df = n - 1
    crit = float(_st.t.ppf(1 - alpha / 2, df))

    def gap(lam: float) -> float:
        # lower tail by symmetry, P(T'(lam) < -crit) = P(T'(-lam) > crit): scipy's nct.cdf
        # returns nan far in that tail for small df
        reach = _st.nct.sf(crit, df, lam) + _st.nct.sf(crit, df, -lam)
        return float(reach) - power

    hi = 1.0
    while gap(hi) < 0:
        hi *= 2
    lam = float(_opt.brentq(gap, 0.0, hi, xtol=1e-10))
    return lam * float(sd_diff) / math.sqrt(n)


def mde_from_se(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Normal-approximation MDE ``(z_{1-alpha/2} + z_{power}) * se`` from a (bootstrap) standard error."""
    if not math.isfinite(se):
        return float("nan")
    return (float(_st.norm.ppf(1 - alpha / 2)) + float(_st.norm.ppf(power))) * float(se)


# ---------------------------------------------------------------- power and sample size
#
# Conventions: ``n`` is an effective sample size (items / design effect); ``delta`` is the
# true change the power is computed at; tests are two-sided at ``alpha``. The paired-rate
# functions are McNemar's test in Connor's (1987) normal approximation: with discordance
# ``psi`` (the share of items whose 0/1 value changed) the count difference ``b - c`` has
# mean ``n * delta`` and variance ``n * (psi - delta**2)``, and its null variance is ``n * psi``.
# A change of ``delta`` needs at least ``|delta|`` discordance, so ``psi`` is raised to it.


def _z(q: float) -> float:
    return float(_st.norm.ppf(q))


def power_paired_proportion(n: float, discordance: float, delta: float, alpha: float = 0.05) -> float:
    """Power of the two-sided McNemar test at level ``alpha`` when the true paired change is ``delta``.

    Connor (1987): ``Phi((|delta| sqrt(n) - z_{1-alpha/2} sqrt(psi)) / sqrt(psi - delta^2))`` with
    ``psi = max(discordance, |delta|)`` (the far tail is negligible and ignored).
    """
    d = abs(float(delta))
    if n <= 0 or d == 0:
        return float(alpha) if n > 0 else float("nan")
    psi = min(1.0, max(float(discordance), d))
    za = _z(1 - alpha / 2)
    spread = psi - d * d
    num = d * math.sqrt(n) - za * math.sqrt(psi)
    if spread <= 1e-15:
        return 1.0 if num > 0 else 0.0
    return float(_st.norm.cdf(num / math.sqrt(spread)))


def n_paired_proportion(discordance: float, delta: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Effective n at which the McNemar test reaches ``power`` against a change ``delta`` (Connor 1987).

    ``n = (z_{1-alpha/2} sqrt(psi) + z_power sqrt(psi - delta^2))^2 / delta^2``, ``psi = max(discordance, |delta|)``.
    """
    d = abs(float(delta))
    if d == 0:
        return math.inf
    psi = min(1.0, max(float(discordance), d))
    za, zb = _z(1 - alpha / 2), _z(power)
    return (za * math.sqrt(psi) + zb * math.sqrt(max(psi - d * d, 0.0))) ** 2 / (d * d)


def power_paired_mean(n: float, sd: float, delta: float, alpha: float = 0.05) -> float:
    """Power of the two-sided paired t-test at level ``alpha`` against a true mean change ``delta``.

    Exact under normality: ``P(|T'| > t_{1-alpha/2, n-1})``, ``T' ~ nct(n - 1, delta sqrt(n) / sd)``.
    """
    if n < 2 or not math.isfinite(sd):
        return float("nan")
    if sd == 0:
        return 1.0 if delta != 0 else float(alpha)
    df = n - 1
    crit = float(_st.t.ppf(1 - alpha / 2, df))
    lam = abs(float(delta)) * math.sqrt(n) / float(sd)
    return float(_st.nct.sf(crit, df, lam) + _st.nct.sf(crit, df, -lam))


def _solve_n(power_at: Callable[[float], float], target: float, lo: float = 2.0) -> float:
    """Smallest n >= lo (continuous) with ``power_at(n) >= target``; ``inf`` if none below 1e9."""
    if power_at(lo) >= target:
        return lo
    hi = lo * 2
    while power_at(hi) < target:
        hi *= 2
        if hi > 1e9:
            return math.inf
    return float(_opt.brentq(lambda m: power_at(m) - target, lo, hi, xtol=1e-6))


def n_paired_mean(sd: float, delta: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Effective n at which the two-sided paired t-test reaches ``power`` against ``delta`` (noncentral t)."""
    if delta == 0 or not math.isfinite(sd):
        return math.inf
    if sd == 0:
        return 2.0
    return _solve_n(lambda m: power_paired_mean(m, sd, delta, alpha), power)


def power_bound(n: float, sd: float, gap: float, alpha: float = 0.05) -> float:
    """Probability that a two-sided ``1 - alpha`` t interval lies wholly on the near side of a bound.

    The true value is ``gap`` away from the bound (``gap > 0``: inside it), the per-item SD is
    ``sd``: ``P(T' > t_{1-alpha/2, n-1})``, ``T' ~ nct(n - 1, gap sqrt(n) / sd)``. This is the
    chance that an interval-mode rule passes when the metric truly sits ``gap`` inside its bound.
    """
    if n < 2 or gap <= 0 or not math.isfinite(sd):
        return 0.0 if gap <= 0 else float("nan")
    if sd == 0:
        return 1.0
    df = n - 1
    crit = float(_st.t.ppf(1 - alpha / 2, df))
    return float(_st.nct.sf(crit, df, gap * math.sqrt(n) / sd))


def n_bound(sd: float, gap: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Effective n at which :func:`power_bound` reaches ``power`` (``inf`` when ``gap <= 0``)."""
    if gap <= 0 or not math.isfinite(sd):
        return math.inf
    if sd == 0:
        return 2.0
    return _solve_n(lambda m: power_bound(m, sd, gap, alpha), power)


def n_two_proportions(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Per-group n for two *independent* samples to detect ``p1 != p2`` (two-sided z-test).

    Pooled variance under the null, unpooled under the alternative: the formula of
    ``statsmodels.stats.proportion.samplesize_proportions_2indep_onetail``.
    """
    d = abs(p1 - p2)
    if d == 0:
        return math.inf
    pbar = (p1 + p2) / 2
    s0 = math.sqrt(2 * pbar * (1 - pbar))
    s1 = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return (max(_z(1 - alpha / 2) * s0 + _z(power) * s1, 0.0) / d) ** 2
