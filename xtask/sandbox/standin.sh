#!/usr/bin/env bash
# standin.sh: inside the sandbox (see enter.sh), one program standing in for every command
# that is AL2023-specific or would change the machine; it acts as the program it is
# called as (dnf, systemctl, mkfs.ext4, ...). Each call appends "program arg..." to
# /run/sandbox/calls.log, and state it must remember (unit states, formatted devices,
# mounts of the data volume) lives in /run/sandbox, i.e. STATE_DIR on the host.
# Reads /run/sandbox/agent ("never": the ECS agent API never answers) and /etc/ecs/ecs.config.
set -euo pipefail

state=/run/sandbox
program="$(basename "$0")"
printf '%s\n' "$program${*:+ $*}" >>"$state/calls.log"

# The real program of that name, for calls the stand-in passes on.
real() {
    local dir
    for dir in /usr/sbin /usr/bin /sbin /bin; do
        if [[ -x "$dir/$program" && "$dir/$program" != "$0" ]]; then
            exec "$dir/$program" "$@"
        fi
    done
    echo "$program: not available in the sandbox" >&2
    exit 127
}

# Unit states, as an AL2023 ECS-optimized instance has them at build time.
unit_name() { local u="${1%.service}"; printf '%s' "$u"; }
default_state() {
    case "$1:$2" in
    docker:enabled | docker.socket:enabled | ecs:enabled | chronyd:enabled | sshd:enabled) echo enabled ;;
    docker:active | ecs:active | chronyd:active | sshd:active) echo active ;;
    *:enabled) echo disabled ;;
    *:active) echo inactive ;;
    esac
}
unit_get() {
    local file="$state/units/$1.$2"
    if [[ -f "$file" ]]; then cat "$file"; else default_state "$1" "$2"; fi
}
unit_set() {
    mkdir -p "$state/units"
    printf '%s\n' "$3" >"$state/units/$1.$2"
}

# ecs.service is ordered After=cloud-final.service: while cloud-final runs (units/
# cloud-final.active says "activating": the sandbox is running user data) a start of ecs
# only queues a job, and the agent stays down.
start_unit() {
    if [[ "$1" == ecs && "$(unit_get cloud-final active)" == activating ]]; then
        unit_set ecs active activating
    else
        unit_set "$1" active active
    fi
}

systemctl_main() {
    local verb="" now=false units=() arg
    for arg in "$@"; do
        case "$arg" in
        --now) now=true ;;
        -*) ;;
        *) if [[ -z "$verb" ]]; then verb="$arg"; else units+=("$(unit_name "$arg")"); fi ;;
        esac
    done
    local unit rc=0
    case "$verb" in
    daemon-reload | reset-failed) ;;
    start | restart | reload | try-restart)
        for unit in "${units[@]}"; do start_unit "$unit"; done ;;
    stop)
        for unit in "${units[@]}"; do unit_set "$unit" active inactive; done ;;
    enable)
        for unit in "${units[@]}"; do
            unit_set "$unit" enabled enabled
            if $now; then start_unit "$unit"; fi
        done ;;
    disable)
        for unit in "${units[@]}"; do
            unit_set "$unit" enabled disabled
            if $now; then unit_set "$unit" active inactive; fi
        done ;;
    is-enabled)
        for unit in "${units[@]}"; do
            unit_get "$unit" enabled
            [[ "$(unit_get "$unit" enabled)" == enabled ]] || rc=1
        done ;;
    is-active)
        for unit in "${units[@]}"; do
            unit_get "$unit" active
            [[ "$(unit_get "$unit" active)" == active ]] || rc=3
        done ;;
    *) echo "systemctl (sandbox): $verb is not stood in for" >&2; return 1 ;;
    esac
    return "$rc"
}

# The data volume: a device counts as formatted once mkfs.ext4 ran on it.
fs_file() { printf '%s/filesystems/%s' "$state" "$(basename "$(readlink -f "$1")")"; }

mkfs_main() {
    local label="" dev="" arg prev=""
    for arg in "$@"; do
        if [[ "$prev" == -L ]]; then label="$arg"; elif [[ "$arg" != -* ]]; then dev="$arg"; fi
        prev="$arg"
    done
    if [[ -z "$dev" || ! -e "$dev" ]]; then
        echo "mke2fs: No such file or directory while trying to determine filesystem size" >&2
        return 1
    fi
    mkdir -p "$state/filesystems"
    printf 'TYPE=ext4\nLABEL=%s\n' "$label" >"$(fs_file "$dev")"
    echo "Creating filesystem on $dev (sandbox)"
}

blkid_main() {
    local output=full tag="" label="" devs=() prev="" arg
    for arg in "$@"; do
        case "$prev" in
        -o) output="$arg" ;;
        -s) tag="$arg" ;;
        -L) label="$arg" ;;
        *) [[ "$arg" == -* ]] || devs+=("$arg") ;;
        esac
        prev="$arg"
    done
    local file dev
    if [[ -n "$label" ]]; then
        for file in "$state"/filesystems/*; do
            [[ -f "$file" ]] && grep -qx "LABEL=$label" "$file" && { echo "/dev/$(basename "$file")"; return 0; }
        done
        return 2
    fi
    local found=2
    for dev in "${devs[@]}"; do
        file="$(fs_file "$dev")"
        [[ -f "$file" ]] || continue
        found=0
        if [[ "$output" == value ]]; then
            if [[ -n "$tag" ]]; then sed -n "s/^$tag=//p" "$file"; else sed 's/^[A-Z]*=//' "$file"; fi
        else
            printf '%s: LABEL="%s" TYPE="%s"\n' "$dev" "$(sed -n 's/^LABEL=//p' "$file")" "$(sed -n 's/^TYPE=//p' "$file")"
        fi
    done
    return "$found"
}

# Mounts of the data volume are remembered in $state/mounts ("source target type options").
is_fake_source() {
    case "$1" in
    LABEL=*) [[ -n "$(blkid_main -L "${1#LABEL=}")" ]] ;;
    /dev/*) [[ -f "$(fs_file "$1")" ]] ;;
    *) return 1 ;;
    esac
}
record_mount() {
    if [[ ! -d "$2" ]]; then echo "mount: $2: mount point does not exist." >&2; return 32; fi
    touch "$state/mounts"
    grep -q " $2 " "$state/mounts" || printf '%s %s %s %s\n' "$1" "$2" "$3" "$4" >>"$state/mounts"
}

mount_main() {
    if [[ $# -eq 0 ]]; then
        /usr/bin/mount
        [[ -f "$state/mounts" ]] && awk '{print $1 " on " $2 " type " $3 " (" $4 ")"}' "$state/mounts"
        return 0
    fi
    if [[ "$1" == -a ]]; then
        local source target type options rest
        while read -r source target type options rest; do
            [[ -z "$source" || "$source" == \#* ]] && continue
            case "$source" in LABEL=* | /dev/xvd* | /dev/nvme*) ;; *) continue ;; esac
            [[ ",$options," == *,noauto,* ]] && continue
            if is_fake_source "$source"; then
                record_mount "$source" "$target" "$type" "$options" || return $?
            elif [[ ",$options," != *,nofail,* ]]; then
                echo "mount: $target: can't find $source." >&2
                return 32
            fi
        done </etc/fstab
        return 0
    fi
    local last="${*: -1}"
    if is_fake_source "$1" || grep -q " $last " /etc/fstab 2>/dev/null && is_fake_source "$(awk -v t="$last" '$2 == t {print $1}' /etc/fstab)"; then
        local source="$1"
        [[ $# -eq 1 ]] && source="$(awk -v t="$last" '$2 == t {print $1}' /etc/fstab)"
        record_mount "$source" "$last" ext4 defaults
        return
    fi
    real "$@"
}

umount_main() {
    local target="${*: -1}"
    if [[ -f "$state/mounts" ]] && grep -q " $target " "$state/mounts"; then
        grep -v " $target " "$state/mounts" >"$state/mounts.new" || true
        mv "$state/mounts.new" "$state/mounts"
        return 0
    fi
    real "$@"
}

# /data is itself a bind mount of the sandbox, so the real mountpoint would always say yes:
# for it the answer is whether mount mounted the data volume there.
mountpoint_main() {
    local target="${*: -1}"
    if [[ -f "$state/mounts" ]] && grep -q " ${target%/} " "$state/mounts"; then
        [[ "$1" == -q ]] || echo "$target is a mountpoint"
        return 0
    fi
    if [[ "${target%/}" == /data ]]; then
        [[ "$1" == -q ]] || echo "$target is not a mountpoint"
        return 32
    fi
    real "$@"
}

# The ECS agent's introspection API answers once ecs runs, unless told never to.
curl_main() {
    local arg url=""
    for arg in "$@"; do
        case "$arg" in http://localhost:51678/* | http://127.0.0.1:51678/*) url="$arg" ;; esac
    done
    [[ -n "$url" ]] || real "$@"
    if [[ "$(cat "$state/agent" 2>/dev/null || true)" == never || "$(unit_get ecs active)" != active ]]; then
        echo "curl: (7) Failed to connect to localhost port 51678: Connection refused" >&2
        return 7
    fi
    local cluster
    cluster="$(sed -n 's/^ECS_CLUSTER=//p' /etc/ecs/ecs.config 2>/dev/null | tail -n 1)"
    printf '{"Cluster":"%s","ContainerInstanceArn":"arn:aws:ecs:us-east-1:123456789012:container-instance/%s/0123456789abcdef","Version":"Amazon ECS Agent - v1.89.0 (sandbox)"}\n' \
        "$cluster" "$cluster"
}

cwagent_main() {
    local action="" config="" prev="" arg
    for arg in "$@"; do
        case "$prev" in -a) action="$arg" ;; -c) config="$arg" ;; esac
        prev="$arg"
    done
    case "$action" in
    fetch-config)
        local file="${config#file:}"
        if ! jq -e . "$file" >/dev/null; then
            echo "amazon-cloudwatch-agent-ctl: invalid configuration $file" >&2
            return 1
        fi
        [[ " $* " == *" -s "* ]] && unit_set amazon-cloudwatch-agent active active
        ;;
    start) unit_set amazon-cloudwatch-agent active active ;;
    stop) unit_set amazon-cloudwatch-agent active inactive ;;
    status) printf '{"status": "%s"}\n' "$(unit_get amazon-cloudwatch-agent active | sed 's/^active$/running/;s/^inactive$/stopped/')" ;;
    esac
}

ebsnvme_main() {
    case "${*: -1}" in
    /dev/nvme0n1) echo xvda ;;
    /dev/nvme1n1) echo xvdcy ;;
    *) echo "ebsnvme-id: not an EBS device" >&2; return 1 ;;
    esac
}

case "$program" in
systemctl) systemctl_main "$@" ;;
mkfs.ext4) mkfs_main "$@" ;;
blkid) blkid_main "$@" ;;
mount) mount_main "$@" ;;
umount) umount_main "$@" ;;
mountpoint) mountpoint_main "$@" ;;
curl) curl_main "$@" ;;
amazon-cloudwatch-agent-ctl) cwagent_main "$@" ;;
ebsnvme-id) ebsnvme_main "$@" ;;
dnf | yum | docker | cloud-init) ;; # recorded above; nothing on this machine changes
*) echo "standin: unknown program $program" >&2; exit 127 ;;
esac
