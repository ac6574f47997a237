"""``python -m postloan`` runs the CLI."""

from postloan.cli import main

main()
