"""Waiting on a socket of our own, with the event loop's readiness callbacks: the callback
only says the socket is ready, and the bytes are taken by the coroutine when it resumes. A
wait cut short by its deadline (a cancelled task) therefore never loses bytes that had
already arrived: they stay in the socket for the last look at the deadline."""

from __future__ import annotations

import asyncio
import socket

__all__ = ["receive", "receive_from", "writable"]


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _ready(sock: socket.socket, *, write: bool) -> None:
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    fd = sock.fileno()
    if write:
        loop.add_writer(fd, _settle, future)
    else:
        loop.add_reader(fd, _settle, future)
    try:
        await future
    finally:
        if write:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


async def writable(sock: socket.socket) -> None:
    """Until ``sock`` is writable (a non-blocking connect has settled)."""
    await _ready(sock, write=True)


async def receive(sock: socket.socket, size: int) -> bytes:
    """The next bytes of the non-blocking ``sock`` (``b""`` at its end)."""
    while True:
        try:
            return sock.recv(size)
        except (BlockingIOError, InterruptedError):
            await _ready(sock, write=False)


async def receive_from(sock: socket.socket, size: int) -> tuple[bytes, object]:
    """The next datagram of the non-blocking ``sock``, and where it came from."""
    while True:
        try:
            return sock.recvfrom(size)
        except (BlockingIOError, InterruptedError):
            await _ready(sock, write=False)
