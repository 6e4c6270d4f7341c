"""Strategy tests: the shared helpers live in ``tests/strategies/util.py``."""

import pytest

# util.py asserts on the tests' behalf: have pytest explain its failures as it does theirs.
pytest.register_assert_rewrite("tests.strategies.util")
