"""Minimum detectable effects (MDE) of paired designs: what a null result can and cannot rule out.

An MDE is the smallest true difference that a two-sided test at level ``alpha`` would
detect with probability ``power`` at this sample size. Report it next to every
non-significant delta: "no significant change" only means "no change larger than the MDE
was likely to be missed".
"""

from __future__ import annotations

import math

from scipy import optimize as _opt
from scipy import stats as _st


def mde_paired_proportion(n: int, discordance: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """MDE of a paired difference of proportions (McNemar), Connor (1987).

    Solves ``n * delta**2 = (z_{1-alpha/2} * sqrt(psi) + z_{power} * sqrt(psi - delta**2))**2``
    for ``delta``, where ``psi`` is the discordance rate ``(b + c) / n``. With no observed
    discordant pair, ``psi`` is set to the rule-of-three 95 % upper bound ``3 / n``. Returns
    ``nan`` when ``n`` is too small for any difference to reach significance (``n <= z**2``).
    A result larger than ``psi`` means no difference is detectable at that discordance.
    """
    if n <= 0:
        return float("nan")
    psi = float(discordance) if discordance > 0 else min(1.0, 3.0 / n)
    psi = min(psi, 1.0)
    za = float(_st.norm.ppf(1 - alpha / 2))
    zb = float(_st.norm.ppf(power))
    root_n, root_psi = math.sqrt(n), math.sqrt(psi)

    def gap(delta: float) -> float:
        return delta * root_n - za * root_psi - zb * math.sqrt(max(psi - delta * delta, 0.0))

    if gap(root_psi) <= 0:
        return float("nan")
    return float(_opt.brentq(gap, 0.0, root_psi, xtol=1e-12))


def mde_paired_mean(sd_diff: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
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
