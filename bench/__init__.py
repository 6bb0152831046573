"""Benchmarks of the cooperation workflow against a bare Temporal workflow, each measured
in the same run as its baseline: `python -m bench` (all three), or one of
`python -m bench.simulate_ratio`, `python -m bench.history`, `python -m bench.memory`.

Not part of `make test`: they take minutes and their figures depend on the machine.
"""
