"""Statistics with n and an interval: Wilson, McNemar, paired bootstrap, Holm/BH, MDE."""

from rlhf_eval.stats._calibration import (
    calibration_bins,
    paired_ece_bootstrap,
    paired_ece_permutation_test,
    reliability_table,
    weighted_ece,
)
from rlhf_eval.stats._intervals import basic_interval, bootstrap_ci, percentile_interval, wilson_interval
from rlhf_eval.stats._multiplicity import benjamini_hochberg, holm
from rlhf_eval.stats._paired import (
    mcnemar_exact,
    newcombe_paired_interval,
    paired_bootstrap,
    paired_permutation_test,
)
from rlhf_eval.stats._power import mde_from_se, mde_paired_mean, mde_paired_proportion
from rlhf_eval.stats._resample import (
    bootstrap_distribution,
    bootstrap_weights,
    cluster_codes,
    permutation_test,
    swap_plans,
)

__all__ = [
    "basic_interval",
    "benjamini_hochberg",
    "bootstrap_ci",
    "bootstrap_distribution",
    "bootstrap_weights",
    "calibration_bins",
    "cluster_codes",
    "holm",
    "mcnemar_exact",
    "mde_from_se",
    "mde_paired_mean",
    "mde_paired_proportion",
    "newcombe_paired_interval",
    "paired_bootstrap",
    "paired_ece_bootstrap",
    "paired_ece_permutation_test",
    "paired_permutation_test",
    "percentile_interval",
    "permutation_test",
    "reliability_table",
    "swap_plans",
    "weighted_ece",
    "wilson_interval",
]
