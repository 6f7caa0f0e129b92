"""Interop: other tools' per-sample logs (lm-evaluation-harness, Inspect) imported as run directories."""

from rlhf_eval.interop._common import ImportResult
from rlhf_eval.interop._detect import detect_source, import_logs
from rlhf_eval.interop._inspect import import_inspect
from rlhf_eval.interop._lm_eval import import_lm_eval

__all__ = ["ImportResult", "detect_source", "import_inspect", "import_lm_eval", "import_logs"]
