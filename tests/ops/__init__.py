"""Engine tests: the op table (cases.py) and its helpers (helpers.py)."""
