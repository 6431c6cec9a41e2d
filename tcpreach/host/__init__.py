"""This machine's own view: its addresses and interfaces."""

__all__ = []
