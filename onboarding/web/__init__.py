"""The HTTP edge: the app factory (``app``), problem+json errors (``problems``), keys and the application
per request (``deps``), and one router module per resource under ``api/``.

Handlers translate HTTP to one service call and back; no rule lives here.
"""
