"""Benchmarks: every figure is reported beside a ceiling measured in the same run."""
