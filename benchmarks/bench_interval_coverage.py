"""Coverage of candidate 95 % intervals at n = 10, 30, 200: binary, skewed and clustered data.

This is the simulation that chose compare's intervals (rlhf_eval/stats/_effective.py). For
each family of estimand it prints every candidate's coverage (and the share of intervals
wholly above / below the truth) in the scenarios of tests/stats/coverage_scenarios.py,
where clusters are pairs with a shared latent effect:

- ``rate`` (one run's after_ci): plain Wilson; Wilson on the effective n with t_{G-1}
  (chosen: ``wilson_eff``); percentile cluster bootstrap (the previous clustered method);
  cluster-robust t; studentized cluster bootstrap; BCa cluster bootstrap.
- ``paired_rate`` (delta_ci of a rate): plain Newcombe; Newcombe on the effective n with
  t_{G-1} (chosen: ``newcombe_eff``); and the bootstraps / t interval on the differences.
- ``mean`` (a mean, or a mean paired difference): percentile (cluster) bootstrap (the
  previous method); cluster-robust t; studentized bootstrap alone; BCa; studentized
  bootstrap joined with the t interval (chosen: ``studentized_bootstrap``).

Usage: python benchmarks/bench_interval_coverage.py [--reps 1000] [--boot 1000] [--family rate]
(about 2 minutes at the defaults on one core).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "stats"))
from coverage_scenarios import SCENARIOS, SIZES, Sample, coverage

from rlhf_eval.stats import (
    cluster_codes,
    effective_newcombe_interval,
    effective_wilson_interval,
    newcombe_paired_interval,
    studentized_mean_interval,
    wilson_interval,
)

Method = Callable[[Sample], tuple[float, float]]


def _cluster_parts(y: np.ndarray, clusters: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, int]:
    codes, g = cluster_codes(clusters, y.size)
    return np.bincount(codes, weights=y, minlength=g), np.bincount(codes, minlength=g).astype(float), g


def _crt(y: np.ndarray, clusters: np.ndarray | None) -> tuple[float, float]:
    """Cluster-robust (CR1) t interval with G - 1 degrees of freedom."""
    s, m, g = _cluster_parts(y, clusters)
    est = s.sum() / m.sum()
    v = g / (g - 1) * np.sum((s - est * m) ** 2) / m.sum() ** 2
    h = stats.t.ppf(0.975, g - 1) * math.sqrt(v)
    return est - h, est + h


def _boot(y: np.ndarray, clusters: np.ndarray | None, b: int, seed: int) -> tuple[np.ndarray, float, int]:
    s, m, g = _cluster_parts(y, clusters)
    idx = np.random.default_rng(seed).integers(0, g, size=(b, g))
    return s[idx].sum(1) / m[idx].sum(1), s.sum() / m.sum(), g


def _percentile(y: np.ndarray, clusters: np.ndarray | None, b: int, seed: int) -> tuple[float, float]:
    reps, _, _ = _boot(y, clusters, b, seed)
    lo, hi = np.quantile(reps, [0.025, 0.975])
    return float(lo), float(hi)


def _bca(y: np.ndarray, clusters: np.ndarray | None, b: int, seed: int) -> tuple[float, float]:
    reps, est, _ = _boot(y, clusters, b, seed)
    share = np.mean(reps < est) + 0.5 * np.mean(reps == est)
    if share <= 0 or share >= 1:
        return float(reps.min()), float(reps.max())
    z0 = stats.norm.ppf(share)
    s, m, _ = _cluster_parts(y, clusters)
    jack = (s.sum() - s) / (m.sum() - m)
    d = jack.mean() - jack
    den = 6 * np.sum(d**2) ** 1.5
    a = np.sum(d**3) / den if den > 0 else 0.0
    zz = stats.norm.ppf([0.025, 0.975])
    lo, hi = np.quantile(reps, stats.norm.cdf(z0 + (z0 + zz) / (1 - a * (z0 + zz))))
    return float(lo), float(hi)


def _studentized_only(y: np.ndarray, clusters: np.ndarray | None, b: int, seed: int) -> tuple[float, float]:
    s, m, g = _cluster_parts(y, clusters)
    est = s.sum() / m.sum()
    se = math.sqrt(g / (g - 1) * np.sum((s - est * m) ** 2) / m.sum() ** 2)
    idx = np.random.default_rng(seed).integers(0, g, size=(b, g))
    sb, mb = s[idx], m[idx]
    eb = sb.sum(1) / mb.sum(1)
    vb = g / (g - 1) * np.sum((sb - eb[:, None] * mb) ** 2, axis=1) / mb.sum(1) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (eb - est) / np.sqrt(vb)
    t = t[np.isfinite(t)]
    if se == 0 or t.size < 10:
        return est, est
    q_lo, q_hi = np.quantile(t, [0.025, 0.975])
    return est - q_hi * se, est - q_lo * se


def _seed(s: Sample) -> int:
    return zlib.crc32(s.values.tobytes()) % 2**31


def candidates(boot: int) -> dict[str, dict[str, Method]]:
    """Every candidate per family; the shipped one is marked with ``*``."""

    def on(fn: Callable[..., tuple[float, float]], diff: bool, *extra: int) -> Method:
        def method(s: Sample) -> tuple[float, float]:
            y = s.values - s.before if diff and s.before is not None else s.values
            return fn(y, s.clusters, *extra, *((_seed(s),) if extra else ()))

        return method

    def wilson_plain(s: Sample) -> tuple[float, float]:
        return wilson_interval(float(s.values.sum()), s.values.size)

    def wilson_eff(s: Sample) -> tuple[float, float]:
        iv = effective_wilson_interval(s.values, s.clusters)
        return iv.low, iv.high

    def newcombe_plain(s: Sample) -> tuple[float, float]:
        assert s.before is not None
        x, y = s.before, s.values
        cells = [np.sum((x == 1) & (y == 1)), np.sum((x == 0) & (y == 1)), np.sum((x == 1) & (y == 0))]
        return newcombe_paired_interval(*(float(c) for c in cells), float(x.size - sum(cells)))

    def newcombe_eff(s: Sample) -> tuple[float, float]:
        assert s.before is not None
        iv = effective_newcombe_interval(s.before, s.values, s.clusters)
        return iv.low, iv.high

    def studentized_union(s: Sample) -> tuple[float, float]:
        iv = studentized_mean_interval(s.values, s.clusters, boot, _seed(s))
        return iv.low, iv.high

    def bootstraps(diff: bool) -> dict[str, Method]:
        return {
            "percentile bootstrap (previous)": on(_percentile, diff, boot),
            "cluster-robust t": on(_crt, diff),
            "studentized bootstrap alone": on(_studentized_only, diff, boot),
            "BCa bootstrap": on(_bca, diff, boot),
        }

    return {
        "rate": {
            "Wilson (plain)": wilson_plain,
            "* Wilson, effective n, t_{G-1}": wilson_eff,
            **bootstraps(False),
        },
        "paired_rate": {
            "Newcombe (plain)": newcombe_plain,
            "* Newcombe, effective n, t_{G-1}": newcombe_eff,
            **bootstraps(True),
        },
        "mean": {**bootstraps(False), "* studentized bootstrap joined with t": studentized_union},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=1000, help="simulated data sets per cell (default 1000)")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples per interval (default 1000)")
    ap.add_argument("--family", choices=sorted(SCENARIOS), help="only this family")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    print(f"coverage of nominal 95 % intervals; {args.reps} data sets per cell; clusters are pairs")
    print("cells: coverage (share wholly above the truth / wholly below); * = shipped")
    for family, methods in candidates(args.boot).items():
        if args.family and family != args.family:
            continue
        for kind, draw in SCENARIOS[family].items():
            print(f"\n{family} / {kind}")
            print(f"  {'method':<40}" + "".join(f"{'n = ' + str(n):>22}" for n in SIZES))
            for name, method in methods.items():
                cells = []
                for n in SIZES:
                    seed = zlib.crc32(f"{family}/{kind}/{n}".encode())
                    with np.errstate(all="ignore"):
                        cov, above, below = coverage(method, draw, n, args.reps, seed)
                    cells.append(f"{cov:.3f} ({above:.3f}/{below:.3f})")
                print(f"  {name:<40}" + "".join(f"{c:>22}" for c in cells), flush=True)
    print(f"\n{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
