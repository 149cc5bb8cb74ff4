#!/usr/bin/env bash
# time.sh: sets the instance's timezone and keeps its clock on the Amazon Time Sync
# Service. Refuses a zone that tzdata does not know. AL2023's chrony already points at
# 169.254.169.123; the server line is added only if no chrony configuration names it.
# Safe to run again.
# Environment: TIMEZONE (required), e.g. US/Eastern or Europe/Paris.
set -euo pipefail

zone="${TIMEZONE:-}"
if [[ -z "$zone" ]]; then
    echo "error: TIMEZONE is not set (set it to a zone such as US/Eastern)" >&2
    exit 1
fi
zonefile="/usr/share/zoneinfo/$zone"
if [[ "$zone" == *..* || "$zone" == /* || ! -f "$zonefile" ]]; then
    echo "error: unknown timezone \"$zone\" (pick one listed under /usr/share/zoneinfo, e.g. US/Eastern)" >&2
    exit 1
fi

# What `timedatectl set-timezone` does, without needing a running systemd-timedated.
ln -sfn "../usr/share/zoneinfo/$zone" /etc/localtime
echo "time: timezone set to $zone"

time_sync=169.254.169.123
mkdir -p /etc/chrony.d
if grep -qsF "$time_sync" /etc/chrony.conf /etc/chrony.d/*.conf; then
    echo "time: chrony already uses the Amazon Time Sync Service"
else
    printf 'server %s prefer iburst minpoll 4 maxpoll 4\n' "$time_sync" >>/etc/chrony.conf
    echo "time: chrony now uses the Amazon Time Sync Service"
fi
systemctl enable --now chronyd
