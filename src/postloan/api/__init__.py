"""The REST API (FastAPI, OpenAPI at ``/openapi.json``, routes under ``/api/v1``).

:func:`postloan.api.app.create_app` builds the application; ``postloan serve`` runs it.
"""
