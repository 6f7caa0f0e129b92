"""CLI: ``rlhf-eval gate`` (apply a policy, exit 0/1/2/3), ``rlhf-eval plan`` (sample sizes) and ``init-policy``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

_EXIT_CODES = """\
exit codes:
  0  every rule passed (inconclusive results too, when the policy says on_inconclusive: pass)
  1  at least one rule failed
  2  bad input or usage: malformed policy, unknown metric path, missing or malformed file
  3  no rule failed but at least one is inconclusive and the policy says on_inconclusive: fail
"""

_GATE_EPILOG = f"""\
examples:
  rlhf-eval gate --comparison comparison.json --policy policy.yaml
  rlhf-eval gate --comparison comparison.json --policy policy.yaml \\
      --junit junit.xml --summary "$GITHUB_STEP_SUMMARY" --out gate.json
  rlhf-eval gate --run runs/after --policy absolute.yaml      # min/max bounds on one run

Outputs are written atomically and only after the policy and the input validated.
Policy syntax: rlhf_eval/gate/README.md (`rlhf-eval init-policy` writes a commented starter).

{_EXIT_CODES}"""

_INIT_EPILOG = """\
examples:
  rlhf-eval init-policy --out policy.yaml
  rlhf-eval init-policy --out policy.yaml --force     # overwrite an existing file
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``gate``, ``plan`` and ``init-policy`` subcommands."""
    p = sub.add_parser(
        "gate",
        help="apply a release policy to a comparison (exit 0 pass, 1 fail, 2 bad input, 3 inconclusive)",
        description="Check a comparison (or one run) against a policy of metric thresholds; "
        "the exit code is the release decision.",
        epilog=_GATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--comparison", metavar="FILE", help="comparison.json from `rlhf-eval compare`")
    src.add_argument(
        "--run",
        metavar="DIR",
        help="a run folder: absolute min/max bounds on its metrics (recomputed from samples.jsonl "
        "when present, else DIR/scores.json)",
    )
    p.add_argument(
        "--policy", required=True, metavar="FILE", help="policy YAML (see `rlhf-eval init-policy`)"
    )
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML, one testcase per rule result")
    p.add_argument("--summary", metavar="FILE", help="write a Markdown summary ('-' prints it to stdout)")
    p.add_argument("--out", metavar="FILE", help="write gate.json (read by `rlhf-eval report`)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the final decision line")
    p.set_defaults(func=_gate)

    pl = sub.add_parser(
        "plan",
        help="sample size: how many paired items a gate rule needs to decide",
        description="Print the number of paired items a rule needs (ci: to show the change is within "
        "the bound; significant: to detect a violation of the bound's size), for one bound or per "
        "rule of a policy.",
        epilog=_PLAN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pl.add_argument("--kind", choices=("rate", "mean"), default="rate", help="metric kind (default: rate)")
    pl.add_argument("--before", type=float, metavar="X", help="expected value before (a rate: 0..1)")
    for flag, help_text in (
        ("--min", "bound: after >= X"),
        ("--max", "bound: after <= X"),
        ("--max-increase", "bound: after - before <= X"),
        ("--max-decrease", "bound: after - before >= -X"),
    ):
        pl.add_argument(flag, type=float, metavar="X", help=help_text)
    pl.add_argument(
        "--decide", choices=("ci", "significant", "point"), default="ci", help="decision mode (default: ci)"
    )
    pl.add_argument(
        "--alpha", type=float, help="significance level (default 0.05; with --policy: the policy's)"
    )
    pl.add_argument("--power", type=float, help="target power (default 0.8; with --policy: its min_power)")
    pl.add_argument(
        "--discordance",
        type=float,
        metavar="F",
        help="expected share of paired items whose 0/1 value changes (rates; default: independent runs)",
    )
    pl.add_argument("--sd", type=float, help="means: SD of the paired differences (min/max: of the values)")
    pl.add_argument(
        "--design-effect", type=float, default=1.0, metavar="D", help="clustered items (default 1)"
    )
    pl.add_argument(
        "--expected-change", type=float, default=0.0, metavar="D", help="change you expect (default 0)"
    )
    pl.add_argument(
        "--unpaired",
        action="store_true",
        help="two independent samples of n items each instead of paired items (a change in a rate)",
    )
    pl.add_argument("--policy", metavar="FILE", help="plan every rule of this policy")
    pl.add_argument("--comparison", metavar="FILE", help="with --policy: use each row's observed design")
    pl.set_defaults(func=_plan)

    q = sub.add_parser(
        "init-policy",
        help="write a commented starter gate policy",
        description="Write a commented starter policy for `rlhf-eval gate`.",
        epilog=_INIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument(
        "--out", default="policy.yaml", metavar="FILE", help="where to write (default: policy.yaml)"
    )
    q.add_argument("--force", action="store_true", help="overwrite an existing file")
    q.set_defaults(func=_init_policy)


_PLAN_EPILOG = """\
examples:
  rlhf-eval plan --kind rate --before 0.70 --max-decrease 0.02 --discordance 0.10
  rlhf-eval plan --kind rate --before 0.70 --max-decrease 0.02 --decide significant
  rlhf-eval plan --kind mean --sd 0.25 --max-decrease 0.05
  rlhf-eval plan --kind rate --before 0.97 --min 0.90
  rlhf-eval plan --policy policy.yaml --comparison comparison.json   # n per rule and row
  rlhf-eval plan --policy policy.yaml --before 0.7 --discordance 0.1  # n per rule, assumed values

ci (default): n at which the whole 1-alpha interval clears the bound with the given power
when nothing changes (non-inferiority). significant: n at which the two-sided test detects
a change of the bound's size with that power (McNemar, Connor 1987, for paired rates from
the discordant share; paired t for means). Clustered items: --design-effect (compare
reports it per row). Without --discordance a rate assumes independent runs, which
overstates it for correlated runs (and so the n).
"""


def _plan(args: argparse.Namespace) -> int:
    from rlhf_eval._io import read_json
    from rlhf_eval.errors import UserError
    from rlhf_eval.gate import Assumptions, load_policy, plan_policy
    from rlhf_eval.stats import plan_sample_size

    bound = next(
        (
            (b, getattr(args, b))
            for b in ("min", "max", "max_increase", "max_decrease")
            if getattr(args, b) is not None
        ),
        None,
    )
    for key in ("alpha", "power", "discordance"):
        v = getattr(args, key)
        if v is not None and not 0 <= v <= 1:
            raise UserError(f"--{key} must be between 0 and 1, got {v:g}")
    if args.sd is not None and args.sd < 0:
        raise UserError(f"--sd must be >= 0, got {args.sd:g}")
    if args.design_effect < 1:
        raise UserError(f"--design-effect must be >= 1, got {args.design_effect:g}")
    if args.policy is not None and args.unpaired:
        raise UserError("--unpaired plans one bound; a policy's rules gate paired comparisons")
    if args.policy is None:
        if args.comparison is not None:
            raise UserError("--comparison needs --policy (the rules to plan)")
        if bound is None:
            raise UserError("give a bound (--min, --max, --max-increase or --max-decrease) or --policy")
        alpha = args.alpha if args.alpha is not None else 0.05
        power = args.power if args.power is not None else 0.8
        try:
            s = plan_sample_size(
                kind=args.kind,
                bound=bound[0],
                threshold=bound[1],
                decide=args.decide,
                before=args.before,
                alpha=alpha,
                power=power,
                discordance=args.discordance,
                sd=args.sd,
                design_effect=args.design_effect,
                expected_change=args.expected_change,
                paired=not args.unpaired,
            )
        except ValueError as exc:
            raise UserError(f"plan: {exc}") from None
        print(
            f"plan: {args.kind}, {bound[0]} {bound[1]:g}, decide {args.decide}, alpha {alpha:g}, power {power:g}"
        )
        print(
            f"n needed: {s.text()}"
            + (f" (design effect {args.design_effect:g})" if args.design_effect != 1 else "")
        )
        print(f"method: {s.method}")
        return 0
    if bound is not None:
        raise UserError("give either --policy or a bound, not both")
    policy = load_policy(args.policy)
    if args.alpha is not None:
        raise UserError("--alpha comes from the policy (and must match the comparison's) with --policy")
    comparison = read_json(args.comparison) if args.comparison is not None else None
    rows = plan_policy(
        policy,
        comparison,
        assumptions=Assumptions(
            kind=args.kind,
            before=args.before,
            discordance=args.discordance,
            sd=args.sd,
            design_effect=args.design_effect,
            expected_change=args.expected_change,
        ),
        power=args.power,
        data_source=args.comparison or "comparison.json",
    )
    print(f"plan: {args.policy}" + (f" on {args.comparison}" if args.comparison else " (assumed values)"))
    for r in rows:
        label = f"rule {r.rule + 1}" + (f" ({r.name})" if r.name else "")
        where = r.path or r.metric
        have = f", n = {r.n} now" if r.n is not None else ""
        needed = f"needs about {r.n_needed} items" if r.n_needed is not None else f"no n suffices ({r.note})"
        print(
            f"{label}: {where}: {r.bound_text}, decide {r.decide}{have}: {needed} "
            f"(power {r.power:g}, alpha {r.alpha:g}; {r.method})"
        )
    return 0


def _gate(args: argparse.Namespace) -> int:
    from rlhf_eval._io import atomic_write_text, dumps, read_json
    from rlhf_eval.errors import UserError
    from rlhf_eval.gate import evaluate_gate, junit_xml, load_policy, summary_markdown

    policy = load_policy(args.policy)
    if args.comparison is not None:
        result = evaluate_gate(policy, comparison=read_json(args.comparison), data_source=args.comparison)
    else:
        run_dir = Path(args.run)
        if not run_dir.is_dir():
            raise UserError(f"{args.run}: run folder not found")
        scores_path = run_dir / "scores.json"
        if (
            (run_dir / "samples.jsonl").is_file()
            and (run_dir / "run.json").is_file()
            and scores_path.is_file()
        ):
            # recompute every interval from the samples: at the policy's alpha, clusters included
            result = evaluate_gate(policy, run=run_dir, data_source=str(run_dir))
        else:
            result = evaluate_gate(policy, scores=read_json(scores_path), data_source=str(scores_path))

    # Everything validated: render every output first, then write them (each atomically).
    summary = summary_markdown(result)
    texts = {args.out: dumps(result.to_dict()) + "\n", args.junit: junit_xml(result)}
    if args.summary != "-":
        texts[args.summary] = summary
    for path, text in texts.items():
        if not path:
            continue
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            raise UserError(f"{path}: cannot write ({exc.strerror or exc})") from None
    if args.summary == "-":
        sys.stdout.write(summary)

    log = sys.stderr if args.summary == "-" else sys.stdout  # keep stdout pure Markdown then
    if not args.quiet:
        for r in result.results:
            extra = "" if result.blocking(r) or r.status == "pass" else " (allowed)"
            print(f"{r.status.upper():<12} {r.path}: {r.message}{extra}", file=log)
    c = result.counts
    print(
        f"gate: {result.status} ({c['pass']} pass, {c['fail']} fail, {c['inconclusive']} inconclusive; "
        f"on_inconclusive: {policy.on_inconclusive}) -> exit {result.exit_code}",
        file=log,
    )
    return result.exit_code


def _init_policy(args: argparse.Namespace) -> int:
    from rlhf_eval.gate import write_starter_policy

    write_starter_policy(args.out, force=args.force)
    print(
        f"wrote {args.out}; edit the rules, then: rlhf-eval gate --comparison comparison.json --policy {args.out}"
    )
    return 0
