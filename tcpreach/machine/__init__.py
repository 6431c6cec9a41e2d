"""This machine's own view: its addresses and interfaces, the listeners its /proc shows,
and the vantage (routes, addresses, resolver) it probes from."""

__all__ = []
