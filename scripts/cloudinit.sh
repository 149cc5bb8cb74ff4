#!/usr/bin/env bash
# cloudinit.sh: stops cloud-init from installing package updates at boot, so an instance
# launched from this image runs the packages it was built and tested with (AWS's own ECS
# AMI build does the same). Writes one drop-in; safe to run again.
# Environment: none.
set -euo pipefail

dropin=/etc/cloud/cloud.cfg.d/90-packer-ecs-no-updates.cfg
mkdir -p "$(dirname "$dropin")"
tmp="$(mktemp "$dropin.XXXXXX")"
cat >"$tmp" <<'CFG'
# Written by packer-ecs (scripts/cloudinit.sh): no package updates at boot.
repo_update: false
repo_upgrade: none
CFG
chmod 0644 "$tmp"
mv "$tmp" "$dropin"
echo "cloud-init: wrote $dropin"
