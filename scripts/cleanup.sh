#!/usr/bin/env bash
# cleanup.sh: leaves the image as a fresh instance should find it. Stops the ECS agent
# (which joined the "default" cluster while building) and Docker, prunes Docker, keeps
# both from starting at boot (the first-run script starts them; ecs.service alone, wanted
# by multi-user.target, would start Docker too and join "default"), removes Docker and ECS
# logs and the agent's saved state, and resets per-instance state: cloud-init's data,
# SSH host keys, machine-id, the build's authorized key.
# Not `set -e`: every step is tried even when an earlier one fails (a service that is not
# running, a file already gone); the script reports the steps that failed and exits 1.
# Environment: none.
set -uo pipefail

failed=()
step() {
    if ! "$@"; then
        failed+=("$*")
    fi
}

step systemctl stop ecs
step docker system prune --all --force --volumes
step systemctl stop docker docker.socket
step systemctl disable ecs docker docker.socket

step rm -rf /var/log/ecs /var/lib/ecs/data
step mkdir -p /var/log/ecs /var/lib/ecs/data
step rm -rf /var/log/docker /var/log/docker.log
step rm -rf /var/lib/cloud/instances /var/lib/cloud/instance /var/lib/cloud/data /var/lib/cloud/sem
step rm -f /var/log/cloud-init.log /var/log/cloud-init-output.log
step rm -f /etc/ssh/ssh_host_*
step truncate --size 0 /etc/machine-id
step rm -f /home/ec2-user/.ssh/authorized_keys /root/.ssh/authorized_keys
# journald keeps the build's logs, Docker's among them.
step rm -rf /var/log/journal/*

if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'error: clean-up step failed: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "cleanup: done"
