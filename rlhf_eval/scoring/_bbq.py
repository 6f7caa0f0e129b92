"""BBQ accuracy on ambiguous and disambiguated contexts and the bias score."""

from __future__ import annotations
