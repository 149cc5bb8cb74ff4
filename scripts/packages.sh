#!/usr/bin/env bash
# packages.sh: updates the operating system, leaving Docker and the ECS agent at the
# versions AWS tested together in the base AMI, and installs what the first-run script
# and CloudFormation need: the cfn helper scripts, the CloudWatch agent and jq. AL2023
# logs to the journal only; rsyslog gives the CloudWatch agent files to ship:
# /var/log/messages, and /var/log/docker for Docker's own messages.
# Environment: none.
set -euo pipefail

dnf -y upgrade \
    --exclude='docker*' --exclude='containerd*' --exclude='runc*' \
    --exclude='ecs-init*' --exclude='amazon-ecs*'
dnf -y install aws-cfn-bootstrap amazon-cloudwatch-agent jq rsyslog
mkdir -p /etc/rsyslog.d
cat >/etc/rsyslog.d/30-docker.conf <<'CONF'
# Written by packer-ecs (scripts/packages.sh): Docker's messages in their own file.
if $programname == 'dockerd' or $programname == 'containerd' then /var/log/docker
CONF
systemctl enable rsyslog
dnf clean all
