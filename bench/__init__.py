"""Benchmarks: `make bench` (filled by the benchmarks issue)."""
