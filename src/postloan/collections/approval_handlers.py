"""Registers the collections approval handlers (found by ``approvals.load_handlers``)."""

from postloan.collections.activation import register

register()
