"""The end-to-end demo: base vs DPO adapter, comparison, gate, audit, report."""

from rlhf_eval.pipeline._demo import BASE_MODEL, DPO_ADAPTER, OVERTUNED_ADAPTER, DemoConfig, run_demo

__all__ = ["BASE_MODEL", "DPO_ADAPTER", "OVERTUNED_ADAPTER", "DemoConfig", "run_demo"]
