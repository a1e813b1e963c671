"""Benchmarks: the importer against the bounds that matter and the scripts people write instead.

Run ``python -m bench`` (see bench/run.py); the figures land in bench/RESULTS.md.
"""
