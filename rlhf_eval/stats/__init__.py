"""Statistics with n and an interval: Wilson, McNemar, bootstraps, Holm/BH, MDE, power and sample size."""

from rlhf_eval.stats._calibration import (
    calibration_bins,
    paired_ece_bootstrap,
    paired_ece_permutation_test,
    reliability_table,
    weighted_ece,
)
from rlhf_eval.stats._effective import (
    VALID_FROM_CLUSTERS,
    Interval,
    design_effect,
    effective_newcombe_interval,
    effective_wilson_interval,
    studentized_mean_interval,
)
from rlhf_eval.stats._intervals import basic_interval, bootstrap_ci, percentile_interval, wilson_interval
from rlhf_eval.stats._misclassification import JudgeError, corrected_delta, corrected_rate, rogan_gladen
from rlhf_eval.stats._multiplicity import benjamini_hochberg, holm
from rlhf_eval.stats._paired import (
    mcnemar_exact,
    newcombe_paired_interval,
    paired_bootstrap,
    paired_permutation_test,
)
from rlhf_eval.stats._plan import MetricKind, SampleSize, independent_discordance, plan_sample_size
from rlhf_eval.stats._power import (
    mde_detectable,
    mde_from_se,
    mde_paired_mean,
    mde_paired_proportion,
    n_bound,
    n_paired_mean,
    n_paired_proportion,
    n_two_proportions,
    power_bound,
    power_paired_mean,
    power_paired_proportion,
)
from rlhf_eval.stats._resample import (
    bootstrap_distribution,
    bootstrap_weights,
    cluster_codes,
    permutation_test,
    swap_plans,
)

__all__ = [
    "VALID_FROM_CLUSTERS",
    "Interval",
    "JudgeError",
    "MetricKind",
    "SampleSize",
    "basic_interval",
    "benjamini_hochberg",
    "bootstrap_ci",
    "bootstrap_distribution",
    "bootstrap_weights",
    "calibration_bins",
    "cluster_codes",
    "corrected_delta",
    "corrected_rate",
    "design_effect",
    "effective_newcombe_interval",
    "effective_wilson_interval",
    "holm",
    "independent_discordance",
    "mcnemar_exact",
    "mde_detectable",
    "mde_from_se",
    "mde_paired_mean",
    "mde_paired_proportion",
    "n_bound",
    "n_paired_mean",
    "n_paired_proportion",
    "n_two_proportions",
    "newcombe_paired_interval",
    "paired_bootstrap",
    "paired_ece_bootstrap",
    "paired_ece_permutation_test",
    "paired_permutation_test",
    "percentile_interval",
    "permutation_test",
    "plan_sample_size",
    "power_bound",
    "power_paired_mean",
    "power_paired_proportion",
    "reliability_table",
    "rogan_gladen",
    "studentized_mean_interval",
    "swap_plans",
    "weighted_ece",
    "wilson_interval",
]
