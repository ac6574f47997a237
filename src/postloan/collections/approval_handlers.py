"""Registers the collections approval handlers (found by ``approvals.load_handlers``):
strategy activation, restructurings, waivers and write-offs."""

from postloan.collections import concessions
from postloan.collections.activation import register

register()
concessions.register()
