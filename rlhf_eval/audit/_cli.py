"""``rlhf-eval audit`` and ``rlhf-eval make-demo-preferences``.

Heavy modules (pandas, numpy, scipy) are imported inside the handlers so that
``rlhf-eval --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys

_AUDIT_EPILOG = """\
examples:
  rlhf-eval make-demo-preferences --out demo_prefs
  rlhf-eval audit --ratings demo_prefs/ratings.csv --annotators demo_prefs/annotators.csv \\
      --reference-population demo_prefs/reference_population.csv --out audit.json
  rlhf-eval audit --ratings prefs.parquet --column item_id=comparison_id --column label=choice \\
      --level ordinal --out audit.json

input columns (ratings, long format; one row per rating):
  item_id, annotator_id, label     required; label: category, number, or pairwise A / B / tie
  strength                         optional; makes pairwise labels -strength / 0 / +strength
                                   at --level ordinal or interval
  seconds_spent, harm              optional; harm is a flag or a score (>= --harm-threshold)
  reward_a, reward_b               optional; reward-model scores -> whose_preferences
  prompt, response_a, response_b   optional; carried, never written to audit.json
annotators: annotator_id plus demographic columns (age band, gender, nationality, ...); a long
table repeating them per rating works too, or --attributes alone reads them from the ratings.
reference population: attribute, group, share (or count) rows.

privacy: annotator ids are replaced by keyed pseudonyms (key from --pseudonym-key or
$RLHF_EVAL_PSEUDONYM_KEY; random per audit otherwise), and no group with fewer than
--min-group-size annotators is shown. audit.json is documented in rlhf_eval/audit/README.md.
"""

_DEMO_EPILOG = """\
planted effects (none with --null):
  1. nationality=US is 50 % of annotators against a reference share of 20 %
  2. age_band=60+ prefers the detailed response whatever its quality (dissent, in-group
     agreement, lower reward-model agreement)
  3. four annotators pick A or B at random (and rate 3x as many items)
  4. five annotators get most harmful items
planted.json in DIR lists the planted annotators and groups.

example:
  rlhf-eval make-demo-preferences --out demo_prefs --n-items 300 --seed 0
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``audit`` and ``make-demo-preferences`` subcommands."""
    p = sub.add_parser(
        "audit",
        help="audit preference data: annotator agreement, reliability, demographic skew, welfare",
        description=(
            "Audit pairwise or graded preference labels before training a reward model on them: "
            "agreement coefficients with item-bootstrap CIs, per-annotator reliability (leave-one-out "
            "majority, Dawid-Skene), representation against a reference population, whether groups "
            "label differently, whose preferences a reward model follows, and annotator welfare."
        ),
        epilog=_AUDIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--ratings",
        required=True,
        metavar="FILE",
        help="ratings: CSV, TSV, JSONL, JSON, Parquet, a saved `datasets` folder or hf:NAME[:SPLIT]",
    )
    p.add_argument("--annotators", metavar="FILE", help="annotator table: annotator_id + demographic columns")
    p.add_argument(
        "--reference-population", metavar="FILE", help="attribute,group,share rows to compare against"
    )
    p.add_argument("--out", required=True, metavar="FILE", help="where to write audit.json")
    p.add_argument(
        "--level",
        default="nominal",
        choices=("nominal", "ordinal", "interval", "ratio"),
        help="measurement level of the labels (default: nominal)",
    )
    p.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="CANONICAL=SOURCE",
        help="use column SOURCE as CANONICAL (repeatable), e.g. --column label=choice",
    )
    p.add_argument(
        "--label-order", metavar="A,B,...", help="order of text labels, lowest first (ordinal levels)"
    )
    p.add_argument(
        "--attributes",
        metavar="A,B,...",
        help="annotator columns to analyse (default: all but the id and rating columns)",
    )
    p.add_argument("--no-intersections", action="store_true", help="skip two-way intersections of attributes")
    p.add_argument(
        "--min-group-size",
        type=int,
        default=5,
        metavar="K",
        help="suppress groups with fewer than K annotators (default: 5)",
    )
    p.add_argument(
        "--n-bootstrap", type=int, default=1000, metavar="N", help="item-bootstrap replicates (1000)"
    )
    p.add_argument("--n-permutations", type=int, default=1000, metavar="N", help="permutations (1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of bootstraps and permutations (0)")
    p.add_argument(
        "--pseudonym-key",
        metavar="KEY",
        help="key of annotator pseudonyms (default: $RLHF_EVAL_PSEUDONYM_KEY, else random)",
    )
    p.add_argument(
        "--min-shared-items",
        type=int,
        default=10,
        metavar="N",
        help="annotator pairs need N shared items for pairwise Cohen's kappa (10)",
    )
    p.add_argument(
        "--flag-gap",
        type=float,
        default=0.1,
        metavar="X",
        help="flag annotators at least X below the expected LOO agreement (0.1) ...",
    )
    p.add_argument(
        "--harm-threshold",
        type=float,
        default=0.5,
        metavar="X",
        help="a harm score >= X marks an item harmful (0.5)",
    )
    p.add_argument(
        "--welfare-threshold",
        type=float,
        default=0.3,
        metavar="X",
        help="flag annotators whose share of harmful items is >= X (0.3) ...",
    )
    p.add_argument(
        "--welfare-min-harmful",
        type=int,
        default=3,
        metavar="N",
        help="... and who reviewed at least N harmful items (3)",
    )
    p.add_argument("--quiet", action="store_true", help="do not print the findings")
    p.set_defaults(func=_run_audit)

    p2 = sub.add_parser(
        "make-demo-preferences",
        help="write a synthetic preference dataset with planted effects",
        description="Write ratings.csv, annotators.csv, reference_population.csv, planted.json and README.md "
        "into DIR: a seeded synthetic preference dataset with planted effects for the audit demo and tests.",
        epilog=_DEMO_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p2.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    p2.add_argument("--n-items", type=int, default=300, help="items (300)")
    p2.add_argument("--ratings-per-item", type=int, default=5, help="ratings per item (5)")
    p2.add_argument("--n-annotators", type=int, default=60, help="annotators (60)")
    p2.add_argument("--seed", type=int, default=0, help="seed (0)")
    p2.add_argument("--null", action="store_true", help="plant no effects (a null dataset)")
    p2.set_defaults(func=_run_demo)


def _split(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def _run_audit(args: argparse.Namespace) -> int:
    from rlhf_eval.audit._audit import audit
    from rlhf_eval.audit._load import parse_column_map

    result = audit(
        args.ratings,
        args.annotators,
        args.reference_population,
        level=args.level,
        columns=parse_column_map(args.column),
        label_order=_split(args.label_order),
        attributes=_split(args.attributes),
        min_group_size=args.min_group_size,
        n_bootstrap=args.n_bootstrap,
        n_permutations=args.n_permutations,
        seed=args.seed,
        pseudonym_key=args.pseudonym_key,
        harm_threshold=args.harm_threshold,
        welfare_threshold=args.welfare_threshold,
        welfare_min_harmful=args.welfare_min_harmful,
        min_shared_items=args.min_shared_items,
        intersections=not args.no_intersections,
        flag_gap=args.flag_gap,
    )
    result.to_json(args.out)
    if not args.quiet:
        for line in result.report["findings"]:
            print(line)
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(f"wrote {args.out}")
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    from rlhf_eval.audit._demo import make_demo_preferences

    make_demo_preferences(
        args.out,
        n_items=args.n_items,
        ratings_per_item=args.ratings_per_item,
        n_annotators=args.n_annotators,
        seed=args.seed,
        null=args.null,
    )
    print(f"wrote {args.out}/ratings.csv, annotators.csv, reference_population.csv, planted.json, README.md")
    return 0
