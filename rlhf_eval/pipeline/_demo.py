"""``rlhf-eval demo``: every stage on the embedded default model, ending in reports/demo.html.

before = SmolLM2-135M-Instruct as shipped; after = the same base with the shipped DPO safety
adapter (``smollm2-dpo-safety``, trained by scripts/dpo/train.py on pairs written for the
project); a third run puts on the deliberately over-tuned adapter (``smollm2-dpo-overtuned``),
whose comparison shows what an alignment tax looks like. The audit section audits the
preference data behind the DPO adapter itself: this data, this tuning, this effect.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rlhf_eval._io import atomic_write_json, atomic_write_text

BUILTIN_SUITES = ("harmlessness", "overrefusal", "helpfulness", "honesty", "capability")
BASE_MODEL = "embedded:smollm2-135m-instruct"
DPO_ADAPTER = "smollm2-dpo-safety"
OVERTUNED_ADAPTER = "smollm2-dpo-overtuned"
STEPS = 7


@dataclass
class DemoConfig:
    """Demo size and locations; defaults keep a cold run under 5 minutes on 2 CPU cores."""

    out_dir: Path = Path("reports")
    name: str = "demo"
    model: str = BASE_MODEL
    limit: int = 50
    max_new_tokens: int = 64
    batch_size: int = 16
    seed: int = 0
    quiet: bool = False
    cache_dir: Path | None = None
    n_resamples: int = 10_000
    overtuned: bool = True


def _say(cfg: DemoConfig, step: int, text: str) -> float:
    if not cfg.quiet:
        print(f"[{step}/{STEPS}] {text}", file=sys.stderr, flush=True)
    return time.perf_counter()


def run_demo(cfg: DemoConfig) -> dict[str, Any]:
    """Run the whole demo; returns the paths written and the gate's status."""
    import yaml

    from rlhf_eval.audit import audit
    from rlhf_eval.compare import compare_runs, write_comparison
    from rlhf_eval.gate import STARTER_POLICY, evaluate_gate, parse_policy, write_junit, write_summary
    from rlhf_eval.models import load_model
    from rlhf_eval.models._adapter import SHIPPED_DIR
    from rlhf_eval.report import build_report
    from rlhf_eval.runner import RunConfig, run_evaluation

    work = cfg.out_dir / cfg.name
    t0 = time.perf_counter()
    common = RunConfig(
        suites=BUILTIN_SUITES,
        limit=cfg.limit,
        batch_size=cfg.batch_size,
        max_new_tokens=cfg.max_new_tokens,
        seed=cfg.seed,
        quiet=cfg.quiet,
        cache_dir=cfg.cache_dir,
        command="rlhf-eval demo",
    )
    variants = [
        ("before", cfg.model, "before: SmolLM2-135M-Instruct as shipped"),
        (
            "after",
            f"{cfg.model}+adapter={DPO_ADAPTER}",
            f"after: the same base with the DPO safety adapter {DPO_ADAPTER} (LoRA, scripts/dpo/train.py)",
        ),
    ]
    if cfg.overtuned:
        variants.append(
            (
                "overtuned",
                f"{cfg.model}+adapter={OVERTUNED_ADAPTER}",
                f"over-tuned: the same base with {OVERTUNED_ADAPTER}, trained on refusal-heavy pairs",
            )
        )
    _say(cfg, 1, f"loading {cfg.model} and its adapters (converted once, then cached)")
    runs = {}
    for step, (name, spec, description) in enumerate(variants, start=2):
        _say(cfg, min(step, 4), f"{name}: every built-in suite, {cfg.limit} items per part ({spec})")
        model = load_model(spec, batch_size=cfg.batch_size, quiet=cfg.quiet)
        run_cfg = replace(common, model=spec, out=work / "runs" / name, description=description)
        runs[name] = run_evaluation(run_cfg, model=model).out
        del model
    _say(cfg, 5, "comparing before vs after (paired statistics) and gating with the starter policy")
    atomic_write_text(work / "policy.yaml", STARTER_POLICY)
    policy = parse_policy(yaml.safe_load(STARTER_POLICY), str(work / "policy.yaml"))
    gates = {}
    for name in runs:
        if name == "before":
            continue
        comparison = compare_runs(runs["before"], runs[name], n_resamples=cfg.n_resamples, seed=cfg.seed)
        stem = "" if name == "after" else f"-{name}"
        write_comparison(comparison, work / f"comparison{stem}.json")
        gate = evaluate_gate(
            policy, comparison=comparison.to_dict(), data_source=str(work / f"comparison{stem}.json")
        )
        atomic_write_json(work / f"gate{stem}.json", gate.to_dict())
        write_junit(gate, work / f"junit{stem}.xml")
        write_summary(gate, work / f"gate-summary{stem}.md")
        gates[name] = gate.to_dict().get("status")
    _say(cfg, 6, f"auditing the preference data behind {DPO_ADAPTER} (synthetic annotators, planted effects)")
    prefs = SHIPPED_DIR / DPO_ADAPTER / "preferences"
    audited = audit(
        prefs / "ratings.csv", prefs / "annotators.csv", prefs / "reference_population.csv", seed=cfg.seed
    )
    audited.to_json(work / "audit.json")
    _say(cfg, 7, "writing the HTML reports and their Markdown summaries")
    html = build_report(
        runs=[runs["before"], runs["after"]],
        comparison=work / "comparison.json",
        audit=work / "audit.json",
        gate=work / "gate.json",
        out=cfg.out_dir / f"{cfg.name}.html",
        title=f"rlhf-eval demo: SmolLM2-135M-Instruct before and after the DPO safety adapter {DPO_ADAPTER}",
    )
    written = [html]
    if "overtuned" in runs:
        written.append(
            build_report(
                runs=[runs["before"], runs["overtuned"]],
                comparison=work / "comparison-overtuned.json",
                audit=work / "audit.json",
                gate=work / "gate-overtuned.json",
                out=cfg.out_dir / f"{cfg.name}-overtuned.html",
                title=f"rlhf-eval demo: SmolLM2-135M-Instruct before and after the over-tuned adapter "
                f"{OVERTUNED_ADAPTER} (an alignment tax)",
            )
        )
    elapsed = time.perf_counter() - t0
    summary = {
        "html": str(html),
        "markdown": str(html.with_suffix(".md")),
        "reports": [str(p) for p in written],
        "work": str(work),
        "gate": gates.get("after"),
        "gates": gates,
        "seconds": round(elapsed, 1),
    }
    if not cfg.quiet:
        print(
            f"wrote {', '.join(str(p) for p in written)} in {elapsed:.0f} s "
            f"(starter-policy gate: {', '.join(f'{k} {v}' for k, v in gates.items())}; files in {work})",
            file=sys.stderr,
        )
    return summary
