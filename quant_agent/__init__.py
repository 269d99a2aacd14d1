"""quant-agent: factor scans, bracket orders and hard risk limits for a Questrade account."""

__version__ = "0.1.0"
