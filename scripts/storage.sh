#!/usr/bin/env bash
# storage.sh: gives the instance its dedicated data volume (the EBS volume the template
# attaches as /dev/xvdcy) for Docker volumes. Formats it ext4 with the label "docker"
# unless it already holds one (an ext4 filesystem labelled "docker" is taken as it is; any
# other is refused), mounts it at /data through /etc/fstab by label (noatime,nofail: an
# instance launched without the volume still boots), and runs `mount -a`, then checks that
# /data is mounted: with nofail, mount -a says nothing about a label it cannot find.
# Safe to run again: it formats once and writes one line.
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

fs_type="$(blkid -o value -s TYPE "$device" || true)"
# A partitioned disk has no filesystem TYPE, yet is not blank: mkfs would stop to ask.
table="$(blkid -o value -s PTTYPE "$device" || true)"
if [[ -n "$table" ]]; then
    echo "error: $device holds a $table partition table, not a filesystem (if it holds nothing you need, wipe it: wipefs -a $device)" >&2
    exit 1
fi
if [[ -z "$fs_type" ]]; then
    mkfs.ext4 -q -L "$label" "$device"
else
    # Refused rather than relabelled: a filesystem this script did not make may hold
    # someone's data (a volume from a snapshot, attached in the wrong slot), and mounting it
    # at /data for Docker would hand that data over unasked. An earlier run's is taken.
    fs_label="$(blkid -o value -s LABEL "$device" || true)"
    if [[ "$fs_type" != ext4 || "$fs_label" != "$label" ]]; then
        echo "error: $device already holds a $fs_type filesystem labelled \"$fs_label\", not ext4 labelled $label (if it holds nothing you need, wipe it: wipefs -a $device)" >&2
        exit 1
    fi
    echo "storage: $device already has an ext4 filesystem labelled $label, not formatting it"
fi

mkdir -p "$mount_point"
if grep -Eq "^[[:space:]]*LABEL=${label}[[:space:]]" /etc/fstab 2>/dev/null; then
    echo "storage: /etc/fstab already mounts LABEL=$label"
else
    printf '%s\n' "$fstab_line" >>/etc/fstab
fi
# systemd turns fstab into mount units; let it see the new line before mounting.
systemctl daemon-reload
mount -a
if ! mountpoint -q "$mount_point"; then
    echo "error: $mount_point is not mounted after mount -a (see the LABEL=$label line in /etc/fstab and: blkid $device)" >&2
    exit 1
fi
echo "storage: LABEL=$label is mounted at $mount_point"
