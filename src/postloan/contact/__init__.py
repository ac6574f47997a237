"""Borrower contact: templates, the conduct guard, channels, the outbox and its dispatcher.

- :mod:`.outbox` — ``enqueue`` (in the caller's transaction) and the message states;
- :mod:`.conduct` — the pure conduct guard (CN and US Regulation F profiles);
- :mod:`.templates` — Jinja2 templates in zh-CN and en, formatted with Babel;
- :mod:`.channels` — SMTP, SMS gateways, webhooks, in-app notes (and a fake);
- :mod:`.dispatcher` — the worker that claims, guards, sends and records.
"""
