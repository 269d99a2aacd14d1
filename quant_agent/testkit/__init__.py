"""Stubs and fakes shared by the tests: scripted quotes, fault-injecting brokers.

Importable by any test (and by benchmarks and the reliability suite); never imported by
production code.
"""
