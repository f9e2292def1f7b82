"""Names that vulture reports as unused but that a framework uses by reflection.

Passed to vulture by bench/bench_code_health.py and tests/test_code_health.py. Only such names
belong here, each with why; dead code is deleted instead.
"""
