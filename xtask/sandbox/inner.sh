#!/usr/bin/env bash
# inner.sh SANDBOX_DIR STATE_DIR CMD [ARGS...]: the first process of a sandbox (pid 1 of
# its pid namespace, in a private mount namespace), started by enter.sh, which documents
# the layout. Builds the sandbox's root on a tmpfs, pivots into it and runs CMD.
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

here="$1"
state="$2"
shift 2

caller_dir="$PWD"
new="$state/.mnt"
mkdir -p "$new" "$state/root" "$state/work"
mount -t tmpfs -o mode=0755 sandbox-root "$new"

for entry in /*; do
    name="${entry#/}"
    if [[ -L "$entry" ]]; then
        ln -s "$(readlink "$entry")" "$new/$name"
        continue
    fi
    [[ -d "$entry" ]] || continue
    case "$name" in
    etc | usr | var | opt)
        # The host's system folders, copy-on-write: every write lands in STATE_DIR.
        mkdir -p "$new/$name" "$state/root/$name" "$state/work/$name"
        mount -t overlay "sandbox-$name" \
            -o "lowerdir=/$name,upperdir=$state/root/$name,workdir=$state/work/$name" \
            "$new/$name"
        ;;
    home | root | srv | tmp | run | mnt | media | data) ;; # the sandbox's own, below
    proc | dev | sys | lost+found | old_root) ;;
    *)
        # Other host folders (where the repository lives) are readable, never written.
        mkdir -p "$new/$name"
        mount --bind "$entry" "$new/$name"
        mount -o remount,bind,ro "$new/$name"
        ;;
    esac
done
for name in home root srv tmp run mnt media data; do
    mkdir -p "$new/$name" "$state/root/$name"
    mount --bind "$state/root/$name" "$new/$name"
done
chmod 1777 "$new/tmp"
chmod 0700 "$new/root"
mkdir -p "$new/run/sandbox" "$new/run/sshd" "$new/run/lock"
mount --bind "$state" "$new/run/sandbox"

mkdir -p "$new/proc" "$new/sys" "$new/dev"
mount -t proc proc "$new/proc"
mount --bind /sys "$new/sys"
mount -o remount,bind,ro "$new/sys"

# /dev: a few real character devices, and a fake data volume as a block node on a nodev
# tmpfs, so nothing can ever open it: the stand-ins only look at its name.
mount -t tmpfs -o mode=0755,nosuid,nodev sandbox-dev "$new/dev"
for node in null zero full random urandom tty; do
    touch "$new/dev/$node"
    mount --bind "/dev/$node" "$new/dev/$node"
done
mkdir -p "$new/dev/pts" "$new/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$new/dev/pts"
ln -s pts/ptmx "$new/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$new/dev/shm"
ln -s /proc/self/fd "$new/dev/fd"
ln -s /proc/self/fd/0 "$new/dev/stdin"
ln -s /proc/self/fd/1 "$new/dev/stdout"
ln -s /proc/self/fd/2 "$new/dev/stderr"
device="$(cat "$state/device" 2>/dev/null || true)"
case "$device" in
"" | xvd) mknod -m 0660 "$new/dev/xvdcy" b 202 25600 ;;
nvme | nvme-nolink)
    mknod -m 0660 "$new/dev/nvme0n1" b 259 0
    mknod -m 0660 "$new/dev/nvme1n1" b 259 1
    if [[ "$device" == nvme ]]; then ln -s nvme1n1 "$new/dev/xvdcy"; fi
    ;;
none) ;;
*)
    echo "error: $state/device holds \"$device\" (expected nvme, nvme-nolink or none)" >&2
    exit 1
    ;;
esac

# The stand-ins, first on every PATH (ec2-user's, sudo's secure_path, root's).
mkdir -p "$new/usr/local/bin" "$new/usr/local/lib/sandbox"
install -m 0755 "$here/standin.sh" "$new/usr/local/lib/sandbox/standin"
install -m 0755 "$here/sshd.sh" "$new/usr/local/bin/sandbox-sshd"
for program in dnf yum systemctl mkfs.ext4 blkid mount umount mountpoint docker curl \
    amazon-cloudwatch-agent-ctl ebsnvme-id cloud-init; do
    ln -sfn ../lib/sandbox/standin "$new/usr/local/bin/$program"
done

cd "$new"
mkdir -p .old
pivot_root . .old
umount -l /.old
rmdir /.old
# The caller's folder, when the sandbox shows it (read-only); else /.
cd "$caller_dir" 2>/dev/null || cd /

export PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
# Run CMD as a child rather than exec it: this shell, pid 1, reaps orphans.
status=0
"$@" || status=$?
exit "$status"
