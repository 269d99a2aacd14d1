"""Stubs, fakes and builders shared by the tests: scripted quotes, fault-injecting brokers,
signal builders.

Importable by any test (and by benchmarks and the reliability suite); never imported by
production code.
"""
