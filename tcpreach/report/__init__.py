"""Reports of a check: the JSON document and the terminal text."""

__all__ = []
