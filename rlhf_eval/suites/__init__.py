"""Suites: YAML specs plus items loaded through `datasets`, validated at load time."""

from rlhf_eval.suites._load import builtin_suite_names, builtin_suites_dir, load_suite, load_suites
from rlhf_eval.suites._spec import DataSource, Item, SubsetSpec, Suite, SuiteSpec

__all__ = [
    "DataSource",
    "Item",
    "SubsetSpec",
    "Suite",
    "SuiteSpec",
    "builtin_suite_names",
    "builtin_suites_dir",
    "load_suite",
    "load_suites",
]
