"""postloan: post-loan management for personal loans (贷后管理)."""

__version__ = "0.1.0"
