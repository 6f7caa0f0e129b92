"""rlhf-eval: evaluate and audit the alignment of language models."""

__version__ = "0.1.0"
