"""Judging, pure: what a probe's observations mean (the verdict), what a host's verdicts and
DNS answers mean for its deployment (the diagnosis), and what several vantages' reports
mean together (populations, the merge). Plain data in, plain data out: no sockets here."""

__all__ = []
