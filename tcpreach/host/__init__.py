"""This machine's own view: its addresses and interfaces."""
