"""Fixtures for the OpenAI-compatible backend tests; the helpers live in openai_helpers.py.

Helpers are in a uniquely named module because several test folders have a conftest.py,
and ``from conftest import ...`` would pick whichever was imported first.
"""

from openai_helpers import fake_server, gemma_server, llama_server  # noqa: F401  (fixtures)
