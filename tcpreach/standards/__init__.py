"""What the standards and the kernel define, shared by gathering and judging alike: names no
resolver is asked about (RFC 6761), DNS64 and NAT64 addresses (RFC 6052, RFC 7050), and what
a socket's errno says. Constants and pure functions only."""

__all__ = []
