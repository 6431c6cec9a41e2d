"""Test doubles shipped with the library, as httpcore ships its ``MockBackend``: stand-ins
that behave like an edge or a broken server on loopback, a stub DNS server, and the
container helpers the docker tier uses."""
