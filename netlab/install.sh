#!/usr/bin/env bash
# Install what the edge tier needs from Debian (as root): HAProxy, Knot, nftables,
# iproute2; nginx with its stream module (a second kind of edge); unbound (DNS64) and
# tayga (NAT64) for the IPv6-only client behind NAT64; postfix (SMTP) and dovecot
# (IMAP, POP3) for STARTTLS;
# Prometheus (and promtool) for the exporter's tests, and blackbox_exporter for the
# exporter's benchmark to compare with. Their services must not start on install, so a
# policy-rc.d that refuses every start is in place for the duration. Does nothing when
# all is there already.
set -euo pipefail
missing=()
for pair in haproxy:haproxy knotd:knot nft:nftables ip:iproute2 ss:iproute2 \
    unbound:unbound tayga:tayga nginx:nginx \
    prometheus:prometheus promtool:prometheus prometheus-blackbox-exporter:prometheus-blackbox-exporter \
    postfix:postfix dovecot:dovecot-core; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
# nginx's stream module (TCP proxying, ssl_preread) is a package of its own.
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=(libnginx-mod-stream)
# dovecot's IMAP and POP3 servers are packages of their own (STARTTLS on 143 and 110).
[ -e /usr/lib/dovecot/imap-login ] || missing+=(dovecot-imapd)
[ -e /usr/lib/dovecot/pop3-login ] || missing+=(dovecot-pop3d)
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "netlab: not root, cannot install ${missing[*]}: the edge tier will skip" >&2
    exit 0
fi
policy=/usr/sbin/policy-rc.d
had_policy=0
[ -e "$policy" ] && had_policy=1
if [ "$had_policy" = 0 ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
fi
trap '[ "$had_policy" = 0 ] && rm -f "$policy"' EXIT
# One apt-get update per set-up: skipped when the lists are fresh (docker/engine.sh ran).
[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -30 -print -quit 2>/dev/null)" ] \
    || apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u)
