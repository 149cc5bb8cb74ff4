#!/usr/bin/env bash
# enter.sh STATE_DIR CMD [ARGS...]: runs CMD as root inside a throwaway stand-in for an
# Amazon Linux 2023 build instance, so the image's scripts can run for real without
# changing this machine.
#
# Interface (others code against it; change it only together with them):
# - Needs root (mount and pid namespaces); otherwise one error line and exit 1.
# - CMD runs in new mount + pid namespaces (same network namespace: a server inside listens
#   on the host's loopback). SIGTERM, SIGINT, SIGHUP or SIGKILL to enter.sh kills every
#   process inside, and every mount of the sandbox vanishes with them. enter.sh exits
#   with CMD's status.
# - Nothing outside STATE_DIR is written. Inside, /etc /usr /var /opt are overlays whose
#   upper layers are STATE_DIR/root/{etc,usr,var,opt}; /home /root /srv /data /tmp /run /mnt
#   /media are STATE_DIR/root/<dir>; every other top-level folder of the host (e.g. /work)
#   is visible read-only at the same path. So a file written inside at /x/y is read from
#   the host at STATE_DIR/root/x/y (a file deleted inside shows there as an overlay
#   whiteout, a 0/0 character device: check deletions from inside). State persists across
#   calls with the same STATE_DIR. CMD starts in the caller's folder if visible, else /.
# - STATE_DIR itself is mounted inside at /run/sandbox. STATE_DIR must not lie under
#   /etc /usr /var /opt (the kernel refuses overlapping overlay layers) nor contain , or :.
# - Real bash, coreutils, sed, sshd, sudo, jq, ... Stand-ins (xtask/sandbox/standin.sh,
#   first on PATH from /usr/local/bin) replace what is AL2023-specific or would change the
#   machine: dnf yum systemctl mkfs.ext4 blkid mount umount mountpoint docker curl (only
#   for the ECS agent API) amazon-cloudwatch-agent-ctl ebsnvme-id cloud-init. Each call
#   appends "program arg..." to STATE_DIR/calls.log.
# - STATE_DIR/device selects the data volume: absent = /dev/xvdcy, "nvme" = /dev/nvme1n1
#   with the udev symlink /dev/xvdcy, "nvme-nolink" = /dev/nvme1n1 only (ebsnvme-id names
#   it xvdcy), "none" = no data volume.
# - STATE_DIR/agent containing "never": the stand-in ECS agent API never answers; otherwise
#   it reports {"Cluster": ECS_CLUSTER of /etc/ecs/ecs.config} once ecs was started.
# - STATE_DIR/units/<unit>.{enabled,active}: the stand-in systemctl's unit states.
#   units/cloud-final.active containing "activating" means user data is running: a start of
#   ecs (ordered after cloud-final) then only queues, and the agent API stays down.
# - `sandbox-sshd PORT PUBLIC_KEY` (on PATH inside) runs sshd on 127.0.0.1:PORT for
#   ec2-user (passwordless sudo), host key kept in STATE_DIR.
set -euo pipefail

if [[ "$(id -u)" -ne 0 ]]; then
    echo "error: the sandbox needs root (mount and pid namespaces)" >&2
    exit 1
fi
if [[ $# -lt 2 ]]; then
    echo "usage: enter.sh STATE_DIR CMD [ARGS...]" >&2
    exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
mkdir -p "$1"
state="$(cd "$1" && pwd -P)"
shift
case "$state/" in
/etc/* | /usr/* | /var/* | /opt/*)
    echo "error: the sandbox state $state lies under a folder the sandbox overlays (use one outside /etc, /usr, /var, /opt)" >&2
    exit 1
    ;;
*,* | *:*)
    echo "error: the sandbox state path $state contains , or : (overlay options cannot carry them; choose another folder)" >&2
    exit 1
    ;;
esac

# unshare blocks SIGTERM while it waits, and the sandbox's pid 1 ignores it, so a
# terminating signal to enter.sh becomes SIGKILL for unshare; --kill-child then kills the
# sandbox's pid 1, and with it the pid namespace. If enter.sh itself is SIGKILLed,
# --pdeathsig does the same. stdin is passed on explicitly: a background job would get
# /dev/null.
setpriv --pdeathsig KILL -- \
    unshare --mount --pid --fork --kill-child --propagation private -- \
    "$here/inner.sh" "$here" "$state" "$@" <&0 &
child=$!
trap 'kill -KILL "$child" 2>/dev/null || true' TERM INT HUP
# bash reports a job killed by a signal ("Killed ...") on stderr; it is expected here.
{
    while true; do
        status=0
        wait "$child" || status=$?
        kill -0 "$child" || break
    done
} 2>/dev/null
exit "$status"
