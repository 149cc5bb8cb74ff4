#!/usr/bin/env bash
# rehearse.sh WORK_DIR: builds the real template (packer/) with the real packer against a
# moto server and the sandbox's sshd, both on free loopback ports, as a proof that the
# template's local-rehearsal variables suffice. Leaves in WORK_DIR: state/ (the sandbox),
# manifest.json, images.json (describe-images of the result), packer.log. Stops moto and
# sshd on exit. Run from anywhere, as root; needs python3 with moto[server], packer, aws.
# Environment: PYTHON (default python3), PACKER (default packer).
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: rehearse.sh WORK_DIR" >&2
    exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
root="$(cd "$here/../.." && pwd -P)"
mkdir -p "$1"
work="$(cd "$1" && pwd -P)"

free_port() { "${PYTHON:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
moto_port="$(free_port)"
ssh_port="$(free_port)"

pids=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

MOTO_RECORDER_FILEPATH="$work/moto-recording" "${PYTHON:-python3}" -m moto.server -H 127.0.0.1 -p "$moto_port" \
    >"$work/moto.log" 2>&1 &
pids+=("$!")

rm -f "$work/key" "$work/key.pub"
ssh-keygen -q -t ed25519 -N '' -f "$work/key"
"$here/enter.sh" "$work/state" sandbox-sshd "$ssh_port" "$(cat "$work/key.pub")" >"$work/sshd.log" 2>&1 &
pids+=("$!")

for _ in $(seq 100); do
    if curl -fs "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1 &&
        (exec 3<>"/dev/tcp/127.0.0.1/$ssh_port") 2>/dev/null; then
        break
    fi
    sleep 0.2
done

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true CHECKPOINT_DISABLE=1
cd "$work"
status=0
"${PACKER:-packer}" build -color=false \
    -var "ec2_endpoint=http://127.0.0.1:$moto_port" \
    -var skip_region_validation=true \
    -var ssh_host=127.0.0.1 \
    -var "ssh_port=$ssh_port" \
    -var "ssh_private_key_file=$work/key" \
    -var ssh_timeout=30s \
    -var build_commit=rehearsal \
    "$root/packer" >"$work/packer.log" 2>&1 || status=$?
aws --endpoint-url "http://127.0.0.1:$moto_port" ec2 describe-images --owners self >"$work/images.json"
exit "$status"
