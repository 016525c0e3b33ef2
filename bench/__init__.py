"""Benchmarks of the media engine against the obvious alternatives (SPEC 11).

``python -m bench`` (or ``make bench``) generates its fixtures in a temporary folder,
runs every contender side by side in fresh subprocesses, prints a summary and
writes ``docs/BENCHMARKS.md``.
"""
