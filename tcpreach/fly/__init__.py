"""Fly.io: every rule and remedy the project knows about the platform. ``lint`` checks a
fly.toml (and its Dockerfile) offline; ``live`` explains what a probe of a Fly name saw."""

__all__ = []
