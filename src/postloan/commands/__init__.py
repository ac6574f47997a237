"""CLI commands, one module per area; each registers on ``postloan.cli.app``."""
