"""Release gate: apply a policy of metric thresholds to a comparison; exit 0 pass, 1 fail, 3 inconclusive."""

from rlhf_eval.gate._evaluate import GATE_SCHEMA, GateResult, RuleResult, evaluate_gate, holm
from rlhf_eval.gate._junit import junit_xml, write_junit
from rlhf_eval.gate._plan import Assumptions, PlanRow, plan_policy
from rlhf_eval.gate._policy import Policy, Rule, load_policy, parse_policy
from rlhf_eval.gate._starter import STARTER_POLICY, write_starter_policy
from rlhf_eval.gate._summary import summary_markdown, write_summary

__all__ = [
    "GATE_SCHEMA",
    "STARTER_POLICY",
    "Assumptions",
    "GateResult",
    "PlanRow",
    "Policy",
    "Rule",
    "RuleResult",
    "evaluate_gate",
    "holm",
    "junit_xml",
    "load_policy",
    "parse_policy",
    "plan_policy",
    "summary_markdown",
    "write_junit",
    "write_starter_policy",
    "write_summary",
]
