#!/usr/bin/env bash
# Start or stop a local Docker engine for the container tests, offline.
#
#   docker/engine.sh start   # install Debian's docker.io if missing (root), start dockerd with IPv6
#   docker/engine.sh stop    # stop the dockerd this script started (by its PID), nothing else
#   docker/engine.sh status
#
# An engine that already answers `docker info` is used as it is and never stopped here.
set -euo pipefail

PIDFILE=${HELLO_DOCKERD_PIDFILE:-/run/hello-server-dockerd.pid}
LOG=${HELLO_DOCKERD_LOG:-/tmp/hello-server-dockerd.log}
# Unique-local range for the containers' own IPv6 addresses (see ../shared/CONTAINERS.md).
IPV6_CIDR=${HELLO_DOCKER_IPV6_CIDR:-fd00:d0c:1::/64}

say() { printf 'engine: %s\n' "$*" >&2; }

answers() { docker info >/dev/null 2>&1; }

install_engine() {
    if command -v dockerd >/dev/null 2>&1; then return 0; fi
    if [ "$(id -u)" -ne 0 ]; then
        say "dockerd is not installed and this is not root: install docker.io (or Docker Engine) and start it"
        exit 1
    fi
    say "installing Debian's docker.io and debootstrap"
    # One apt-get update per set-up: skipped when the lists are fresh (netlab/install.sh ran).
    [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -30 -print -quit 2>/dev/null)" ] \
        || apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io debootstrap >/dev/null
}

# The bridge's IPv6 gateway would run duplicate address detection when its first container
# brings the link up, and the container's first IPv6 connections would wait 1-2 s for it.
# A speed-up only: the docker tier passes on a stock engine too (HELLO_DOCKER_NODAD=0 skips
# it, as quality/flakes.py --cold does to check that).
no_dad_on_bridge() {
    [ "${HELLO_DOCKER_NODAD:-1}" = 1 ] || return 0
    [ "$(id -u)" -eq 0 ] && ip link show docker0 >/dev/null 2>&1 || return 0
    sysctl -qw net.ipv6.conf.docker0.accept_dad=0 || true
    ip -6 addr show dev docker0 scope global | awk '/inet6/ {print $2}' | while read -r address; do
        ip -6 addr replace "$address" dev docker0 nodad || true
    done
}

start() {
    if answers; then say "an engine already answers; using it"; no_dad_on_bridge; return 0; fi
    install_engine
    if [ "$(id -u)" -ne 0 ]; then say "dockerd needs root to start"; exit 1; fi
    say "starting dockerd (IPv6 $IPV6_CIDR), log in $LOG"
    dockerd --ipv6 --fixed-cidr-v6="$IPV6_CIDR" --experimental --ip6tables >"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 150); do
        if answers; then say "dockerd is up (pid $(cat "$PIDFILE"))"; no_dad_on_bridge; return 0; fi
        if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then break; fi
        sleep 0.2
    done
    say "dockerd did not come up; the end of its log:"
    tail -n 20 "$LOG" >&2 || true
    exit 1
}

stop() {
    [ -f "$PIDFILE" ] || { say "no dockerd started by this script"; return 0; }
    pid=$(cat "$PIDFILE")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        say "dockerd (pid $pid) stopped"
    fi
    rm -f "$PIDFILE"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) if answers; then say "an engine answers"; else say "no engine answers"; exit 1; fi ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
