"""Use cases: what the CLI and the flows call, written against ports (typing.Protocol)."""
