"""A lossy, slow link in user space: two TUN devices and a relay between them.

This kernel has no ``sch_netem``, so loss and delay are made here. The relay creates
two TUN devices (``--a NAME --b NAME``), prints ``ready`` once they exist (the lab then
moves each into its namespace and gives it addresses), and copies every IP packet from
one to the other after ``--delay`` seconds, dropping a share ``--loss-ab``/``--loss-ba``
of them at random, or (``--drop-first``) the first packet of every new flow from A to
B: a deterministic loss that a test can rely on. It stops on SIGTERM or SIGINT.

    python -m netlab.relay --a trc0 --b tre0 --delay 0.2 --loss-ab 0.2 --loss-ba 0.2
"""

from __future__ import annotations

import argparse
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time
from collections.abc import Sequence

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def flow_of(packet: bytes) -> tuple[bytes, ...] | None:
    """(source, destination, protocol, ports) of an IPv4 or IPv6 packet, or ``None``."""
    if not packet:
        return None
    version = packet[0] >> 4
    if version == 4 and len(packet) >= 20:
        header = (packet[0] & 0x0F) * 4
        return packet[12:16], packet[16:20], packet[9:10], packet[header : header + 4]
    if version == 6 and len(packet) >= 44:
        return packet[8:24], packet[24:40], packet[6:7], packet[40:44]
    return None


class Relay:
    def __init__(self, loss_ab: float, loss_ba: float, delay: float, drop_first: bool, seed: int | None) -> None:
        self.loss = {0: loss_ab, 1: loss_ba}
        self.delay = delay
        self.drop_first = drop_first
        self.random = random.Random(seed)  # noqa: S311 - loss emulation, not security
        self.seen: set[tuple[bytes, ...]] = set()
        self.counts = {"relayed": 0, "dropped": 0}

    def keep(self, direction: int, packet: bytes) -> bool:
        if self.drop_first and direction == 0:
            flow = flow_of(packet)
            if flow is not None and flow not in self.seen:
                self.seen.add(flow)
                return False
        return self.random.random() >= self.loss[direction]

    def run(self, fds: Sequence[int], stop: list[bool]) -> None:
        pending: list[tuple[float, int, int, bytes]] = []  # (due, order, out fd, packet)
        order = 0
        while not stop[0]:
            wait = 0.05 if not pending else max(0.0, min(0.05, pending[0][0] - time.monotonic()))
            try:
                readable, _, _ = select.select(fds, [], [], wait)
            except InterruptedError:
                continue
            for fd in readable:
                packet = os.read(fd, 65536)
                direction = 0 if fd == fds[0] else 1
                if self.keep(direction, packet):
                    order += 1
                    heapq.heappush(pending, (time.monotonic() + self.delay, order, fds[1 - direction], packet))
                else:
                    self.counts["dropped"] += 1
            now = time.monotonic()
            while pending and pending[0][0] <= now:
                _, _, out, packet = heapq.heappop(pending)
                try:
                    os.write(out, packet)
                    self.counts["relayed"] += 1
                except OSError:
                    self.counts["dropped"] += 1  # the device is not up yet, or gone


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netlab.relay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", required=True, help="name of the TUN device on side A")
    parser.add_argument("--b", required=True, help="name of the TUN device on side B")
    parser.add_argument("--delay", type=float, default=0.0, help="one-way delay in seconds, each direction")
    parser.add_argument("--loss-ab", type=float, default=0.0, help="share of packets dropped from A to B")
    parser.add_argument("--loss-ba", type=float, default=0.0, help="share of packets dropped from B to A")
    parser.add_argument("--drop-first", action="store_true", help="drop the first packet of each flow from A to B")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    fds = [open_tun(args.a), open_tun(args.b)]
    stop = [False]

    def stopping(_signum: int, _frame: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    print("ready", flush=True)
    relay = Relay(args.loss_ab, args.loss_ba, args.delay, args.drop_first, args.seed)
    relay.run(fds, stop)
    print(f"relayed {relay.counts['relayed']}, dropped {relay.counts['dropped']}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
