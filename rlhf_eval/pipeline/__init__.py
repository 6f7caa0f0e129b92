"""End-to-end pipelines that chain every stage: the demo on the embedded default model."""

from rlhf_eval.pipeline._demo import DEMO_SYSTEM_PROMPT, DemoConfig, run_demo

__all__ = ["DEMO_SYSTEM_PROMPT", "DemoConfig", "run_demo"]
