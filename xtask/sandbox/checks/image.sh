#!/usr/bin/env bash
# checks/image.sh [TIMEZONE]: run inside the sandbox (enter.sh) after a rehearsal build.
# Looks at the build instance the way one would log in to an instance launched from the
# AMI and look around. Prints one line a check, "ok|fail<TAB>what<TAB>detail"; exits 0
# once every check has run (the caller judges the lines).
# Reads: TIMEZONE (the first argument; empty means any zone that exists),
# /run/sandbox/calls.log (what the stand-ins were asked).
set -euo pipefail

want_zone="${1:-}"
calls=/run/sandbox/calls.log

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

data_volume() {
    local lines
    lines="$(grep -cE '^LABEL=docker[[:space:]]+/data[[:space:]]+ext4[[:space:]]' /etc/fstab || true)"
    if [[ "$lines" != 1 ]]; then
        echo "/etc/fstab has $lines lines mounting LABEL=docker at /data (expected 1)"
        return 1
    fi
    if ! mountpoint -q /data; then
        echo "LABEL=docker is in /etc/fstab but /data is not mounted"
        return 1
    fi
    echo "LABEL=docker in /etc/fstab once, mounted at /data"
}

timezone() {
    local link zone
    link="$(readlink /etc/localtime || true)"
    zone="${link#*zoneinfo/}"
    if [[ -z "$link" || ! -f "/usr/share/zoneinfo/$zone" ]]; then
        echo "/etc/localtime is not a link to a known zone (${link:-missing})"
        return 1
    fi
    if [[ -n "$want_zone" && "$zone" != "$want_zone" ]]; then
        echo "/etc/localtime is $zone, not $want_zone"
        return 1
    fi
    echo "$zone ($(TZ="$zone" date +%Z))"
}

time_sync() {
    if ! grep -qsF 169.254.169.123 /etc/chrony.conf /etc/chrony.d/*.conf; then
        echo "chrony does not use the Amazon Time Sync Service (169.254.169.123)"
        return 1
    fi
    if [[ "$(systemctl is-enabled chronyd || true)" != enabled ]]; then
        echo "chronyd is not enabled"
        return 1
    fi
    echo "chronyd enabled, server 169.254.169.123"
}

cloud_init() {
    local files
    files="$(grep -lE '^repo_upgrade:[[:space:]]*none' /etc/cloud/cloud.cfg.d/*.cfg 2>/dev/null || true)"
    if [[ -z "$files" ]]; then
        echo "no drop-in in /etc/cloud/cloud.cfg.d sets repo_upgrade: none"
        return 1
    fi
    echo "repo_upgrade: none in $files"
}

packages() {
    local install missing=() package
    install="$(grep -E '^dnf( .*)? install ' "$calls" || true)"
    for package in aws-cfn-bootstrap amazon-cloudwatch-agent jq; do
        [[ " $install " == *" $package "* ]] || missing+=("$package")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        echo "dnf was not asked to install ${missing[*]}"
        return 1
    fi
    if ! grep -E '^dnf( .*)? (upgrade|update)' "$calls" | grep -q "docker"; then
        echo "the OS update did not leave the docker packages alone"
        return 1
    fi
    echo "aws-cfn-bootstrap, amazon-cloudwatch-agent, jq; update excludes docker and ecs"
}

docker_off_at_boot() {
    local state
    state="$(systemctl is-enabled docker || true)"
    [[ "$state" == disabled ]] || { echo "docker is $state at boot"; return 1; }
    echo "docker disabled at boot (first run enables it)"
}

ecs_off() {
    local active enabled
    active="$(systemctl is-active ecs || true)"
    enabled="$(systemctl is-enabled ecs || true)"
    [[ "$active" != active ]] || { echo "ecs is still running"; return 1; }
    # Enabled, it would start at boot, pull Docker in and join the "default" cluster.
    [[ "$enabled" == disabled ]] || { echo "ecs is $enabled at boot"; return 1; }
    echo "ecs is $active and disabled at boot (first run enables it)"
}

logs_removed() {
    local left
    left="$(find /var/log/ecs /var/log/docker -mindepth 0 -type f 2>/dev/null || true)"
    [[ -z "$left" ]] || { echo "left behind: ${left//$'\n'/ }"; return 1; }
    echo "no Docker or ECS logs in the image"
}

instance_state_reset() {
    local problems=()
    [[ ! -s /etc/machine-id ]] || problems+=("/etc/machine-id is set")
    compgen -G '/etc/ssh/ssh_host_*' >/dev/null && problems+=("SSH host keys remain")
    [[ ! -e /var/lib/cloud/instances ]] || problems+=("cloud-init instance data remains")
    if [[ ${#problems[@]} -gt 0 ]]; then
        echo "${problems[*]}"
        return 1
    fi
    echo "machine-id empty, no SSH host keys, no cloud-init instance data"
}

firstrun_installed() {
    local file=/home/ec2-user/firstrun.sh
    [[ -f "$file" ]] || { echo "$file is missing"; return 1; }
    [[ -x "$file" ]] || { echo "$file is not executable"; return 1; }
    echo "$file, mode $(stat -c %a "$file")"
}

check "data volume" data_volume
check "timezone" timezone
check "time sync" time_sync
check "cloud-init installs no updates at boot" cloud_init
check "packages" packages
check "Docker disabled at boot" docker_off_at_boot
check "ECS agent stopped and disabled at boot" ecs_off
check "logs removed" logs_removed
check "per-instance state reset" instance_state_reset
check "first-run script installed" firstrun_installed
