"""``python -m rlhf_eval`` runs the CLI."""

import sys

from rlhf_eval.cli import main

sys.exit(main())
