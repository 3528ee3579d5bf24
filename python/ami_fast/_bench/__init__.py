"""Benchmark harness of ami-fast (private; the ``ami-fast bench`` command and ``benches/`` use it).

It lives inside the package so the installed CLI can run it; nothing here is public API.
"""
