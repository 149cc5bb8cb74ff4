#!/usr/bin/env bash
# storage.sh: gives the instance its dedicated data volume (the EBS volume the template
# attaches as /dev/xvdcy) for Docker volumes. Formats it ext4 with the label "docker"
# unless it already holds a filesystem, mounts it at /data through /etc/fstab by label
# (noatime,nofail: an instance launched without the volume still boots), and runs
# `mount -a` to prove the entry. Safe to run again: it formats once and writes one line.
#
# On Nitro instances EBS volumes are NVMe devices; AL2023's udev rules add /dev/xvdcy as
# a symlink to one, and when they have not, `ebsnvme-id -b` names the device's EBS name.
# Environment: none.
set -euo pipefail

name=xvdcy
label=docker
mount_point=/data
fstab_line="LABEL=$label	$mount_point	ext4	defaults,noatime,nofail	0	2"

find_device() {
    if [[ -e "/dev/$name" ]]; then
        readlink -f "/dev/$name"
        return
    fi
    local nvme ebs_name
    for nvme in /dev/nvme[0-9]*n1; do
        [[ -e "$nvme" ]] || continue
        ebs_name="$(ebsnvme-id -b "$nvme" 2>/dev/null || true)"
        if [[ "${ebs_name#/dev/}" == "$name" ]]; then
            printf '%s\n' "$nvme"
            return
        fi
    done
    echo "error: data volume not found: neither /dev/$name nor an NVMe device that EBS names $name exists (attach it as /dev/$name)" >&2
    return 1
}

device="$(find_device)"
echo "storage: data volume is $device"

if [[ -n "$(blkid -o value -s TYPE "$device" || true)" ]]; then
    echo "storage: $device already has a filesystem, not formatting it"
else
    mkfs.ext4 -q -L "$label" "$device"
fi

mkdir -p "$mount_point"
if grep -Eq "^[[:space:]]*LABEL=${label}[[:space:]]" /etc/fstab 2>/dev/null; then
    echo "storage: /etc/fstab already mounts LABEL=$label"
else
    printf '%s\n' "$fstab_line" >>/etc/fstab
fi
mount -a
echo "storage: LABEL=$label is mounted at $mount_point"
