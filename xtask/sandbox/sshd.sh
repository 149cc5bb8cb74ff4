#!/usr/bin/env bash
# sandbox-sshd PORT PUBLIC_KEY: inside the sandbox (see enter.sh), makes the build
# instance's login user ec2-user (passwordless sudo, like AL2023) accept PUBLIC_KEY and
# runs sshd in the foreground on 127.0.0.1:PORT. The host key lives in /run/sandbox
# (STATE_DIR), out of reach of the clean-up script, which deletes /etc/ssh/ssh_host_*.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: sandbox-sshd PORT PUBLIC_KEY" >&2
    exit 2
fi
port="$1"
key="$2"

if ! id ec2-user >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash ec2-user
fi
# A locked password ("!") would make sshd refuse the key; "*" only forbids passwords.
usermod --password '*' ec2-user
mkdir -p /etc/sudoers.d
printf 'ec2-user ALL=(ALL) NOPASSWD:ALL\n' >/etc/sudoers.d/90-cloud-init-users
chmod 0440 /etc/sudoers.d/90-cloud-init-users
install -d -m 0700 -o ec2-user -g ec2-user /home/ec2-user/.ssh
printf '%s\n' "$key" >/home/ec2-user/.ssh/authorized_keys
chown ec2-user:ec2-user /home/ec2-user/.ssh/authorized_keys
chmod 0600 /home/ec2-user/.ssh/authorized_keys

hostkey=/run/sandbox/ssh_host_ed25519_key
if [[ ! -f "$hostkey" ]]; then
    ssh-keygen -q -t ed25519 -N '' -f "$hostkey"
fi
mkdir -p /run/sshd
exec /usr/sbin/sshd -D -e -f /dev/null \
    -o "ListenAddress=127.0.0.1:$port" \
    -o "HostKey=$hostkey" \
    -o PasswordAuthentication=no \
    -o KbdInteractiveAuthentication=no \
    -o PubkeyAuthentication=yes \
    -o PidFile=none \
    -o "Subsystem=sftp internal-sftp"
