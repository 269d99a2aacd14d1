"""Stubs, fakes and builders shared by tests (never imported by production code)."""
