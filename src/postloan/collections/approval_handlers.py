"""Registers the collections approval handlers (found by ``approvals.load_handlers``):
strategy activation, restructurings, waivers and write-offs."""

from postloan.collections import activation, concessions


def register() -> None:
    activation.register()
    concessions.register()


register()
