"""Statistics with n and an interval: Wilson, McNemar, paired bootstrap, Holm/BH, MDE."""

from rlhf_eval.stats._intervals import bootstrap_ci, wilson_interval

__all__ = ["bootstrap_ci", "wilson_interval"]
