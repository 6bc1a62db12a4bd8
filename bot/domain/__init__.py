"""The pure core: plain values in, plain values out. No database, network, clock or environment.

A test (tests/test_structure.py) keeps every module here free of I/O imports.
"""
