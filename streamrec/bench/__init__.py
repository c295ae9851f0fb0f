"""Benchmarks: ingest, serving, freshness, memory, scale and training, with their ceilings.

``streamrec bench NAME`` (see :mod:`streamrec.bench.cli`) prints each result as a
table and writes it as JSON; ``BENCHMARKS.md`` holds a full run's figures.
"""
