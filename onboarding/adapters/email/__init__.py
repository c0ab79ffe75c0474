"""Email adapters: rendering outgoing messages into RFC 5322 bytes, and delivering them.

``rendering`` turns an ``OutgoingMessage`` (core/messages.py) into a complete
multipart message from the jinja2 templates in ``templates/``; ``transports``
delivers those bytes to a Maildir folder, an SMTP server or an in-memory recorder.
Deciding what to send and the outbox live elsewhere (core, services, store).
"""
