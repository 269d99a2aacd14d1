"""Brokers: the protocol every venue implements, and the paper venue."""
