"""Serving and startup benchmarks for `run` (the `bench` command); never imported by `run`."""
