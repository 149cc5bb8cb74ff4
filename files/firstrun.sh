#!/usr/bin/env bash
# firstrun.sh: adapts an instance of this image to its environment at first boot, so one
# image serves every cluster: joins ECS_CLUSTER, optionally goes through an HTTP proxy,
# ships logs to CloudWatch, starts Docker and the ECS agent, then waits until the agent
# reports that it joined the cluster. Safe to run again: settings are replaced, never
# appended twice.
#
# Run it as root, but never inside cloud-final: ecs.service is ordered after
# cloud-final.service, which is what runs user data (and cfn-init called from it), so the
# agent cannot start until this script has exited. User data and cfn-init start it in a
# unit of its own instead (systemd-run --no-block --property=After=cloud-final.service,
# see README); run inside cloud-final it fails at once, saying so.
#
# Environment:
#   ECS_CLUSTER           (required) the cluster to join
#   STACK_NAME            (required) first part of the CloudWatch log group names
#   AUTOSCALING_GROUP     (required) second part of the log group names
#   PROXY_URL             (optional) e.g. http://proxy.example:3128; empty means no proxy
#   AWS_DEFAULT_REGION    (optional) region for the CloudWatch agent (default: the instance's)
#   HEALTH_CHECK_TIMEOUT  (optional) seconds to wait for the agent to join (default 300)
set -euo pipefail

missing=()
for name in ECS_CLUSTER STACK_NAME AUTOSCALING_GROUP; do
    [[ -n "${!name:-}" ]] || missing+=("$name")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "error: firstrun needs ${missing[*]} in the environment (set them in the user data before calling it)" >&2
    exit 1
fi
proxy="${PROXY_URL:-}"
region="${AWS_DEFAULT_REGION:-}"
timeout="${HEALTH_CHECK_TIMEOUT:-300}"
if [[ ! "$timeout" =~ ^[1-9][0-9]*$ ]]; then
    echo "error: HEALTH_CHECK_TIMEOUT must be a whole number of seconds, not \"$timeout\"" >&2
    exit 1
fi
# The proxy URL goes into a systemd drop-in (where % starts a specifier and " ends the
# value) and into TOML (where \ escapes): refuse what could break out of either. The URL
# itself is not echoed: it may carry a password.
if [[ -n "$proxy" && ! "$proxy" =~ ^https?://[^\"[:space:]%\\]+$ ]]; then
    echo "error: PROXY_URL must be a URL like http://proxy.example:3128 (http or https, without spaces, quotes, % or backslashes)" >&2
    exit 1
fi
# Inside cloud-final the agent's start waits for this script, which would wait for the
# agent until HEALTH_CHECK_TIMEOUT. Ask for cloud-final's state rather than look at our
# own cgroup or $INVOCATION_ID: a oneshot unit stays "activating" until the program it
# started exits, so this holds however user data called us (su -, runuser -l or
# systemd-run --scope put a process into another cgroup without ending the wait, and every
# service, a transient one too, has an INVOCATION_ID). The systemd-run way orders its unit
# After=cloud-final.service, so it finds cloud-final active (or failed), never activating.
if [[ "$(systemctl is-active cloud-final.service 2>/dev/null || true)" == activating ]]; then
    echo "error: firstrun cannot run inside cloud-final (user data, cfn-init): the ECS agent starts only after it; start it with systemd-run --no-block --property=After=cloud-final.service (see README)" >&2
    exit 1
fi
# Traffic that must never go through the proxy: instance metadata, the task metadata and
# credentials endpoint, and Docker's socket.
no_proxy="169.254.169.254,169.254.170.2,/var/run/docker.sock"

ecs_config=/etc/ecs/ecs.config
docker_dropin=/etc/systemd/system/docker.service.d/http-proxy.conf
ecs_dropin=/etc/systemd/system/ecs.service.d/http-proxy.conf
cwagent_dir=/opt/aws/amazon-cloudwatch-agent/etc
cwagent_config="$cwagent_dir/amazon-cloudwatch-agent.json"
cwagent_common="$cwagent_dir/common-config.toml"

# replace FILE: writes stdin to FILE through a temporary file and a rename, so FILE is
# never half-written; succeeds only if the content changed.
replace() {
    local file="$1" tmp
    mkdir -p "$(dirname "$file")"
    tmp="$(mktemp "$file.XXXXXX")"
    cat >"$tmp"
    chmod 0644 "$tmp"
    if [[ -f "$file" ]] && cmp -s "$tmp" "$file"; then
        rm -f "$tmp"
        return 1
    fi
    mv "$tmp" "$file"
}

# ecs.config without the keys this script owns, then the keys it wants.
{
    if [[ -f "$ecs_config" ]]; then
        grep -Ev '^(ECS_CLUSTER|HTTP_PROXY|NO_PROXY)=' "$ecs_config" || true
    fi
    printf 'ECS_CLUSTER=%s\n' "$ECS_CLUSTER"
    if [[ -n "$proxy" ]]; then
        printf 'HTTP_PROXY=%s\nNO_PROXY=%s\n' "$proxy" "$no_proxy"
    fi
} | replace "$ecs_config" || true
echo "firstrun: $ecs_config joins cluster $ECS_CLUSTER"

docker_changed=false
if [[ -n "$proxy" ]]; then
    service_proxy="$(printf '[Service]\nEnvironment="HTTP_PROXY=%s" "HTTPS_PROXY=%s" "NO_PROXY=%s"\n' "$proxy" "$proxy" "$no_proxy")"
    if replace "$docker_dropin" <<<"$service_proxy"; then docker_changed=true; fi
    replace "$ecs_dropin" <<<"$service_proxy" || true
    replace "$cwagent_common" <<EOF_TOML || true
[proxy]
    http_proxy = "$proxy"
    https_proxy = "$proxy"
    no_proxy = "169.254.169.254"
EOF_TOML
    echo "firstrun: Docker, the ECS agent and the CloudWatch agent use the proxy $proxy"
else
    # A rerun without a proxy takes away what an earlier run with one wrote.
    if [[ -f "$docker_dropin" ]]; then docker_changed=true; fi
    rm -f "$docker_dropin" "$ecs_dropin"
    if [[ -f "$cwagent_common" ]] && grep -q '^\[proxy\]' "$cwagent_common"; then
        rm -f "$cwagent_common"
    fi
fi

log_group_prefix="/$STACK_NAME/ec2/$AUTOSCALING_GROUP"
# What AL2023 writes to files: rsyslog (installed by the image) writes the system log and,
# through the image's rule, Docker's; the ECS agent writes its own three.
jq -n --arg prefix "$log_group_prefix" --arg region "$region" '
  def file(path): {file_path: path, log_group_name: ($prefix + path),
                   log_stream_name: "{instance_id}", timezone: "UTC"};
  {agent: ({run_as_user: "root"} + (if $region == "" then {} else {region: $region} end)),
   logs: {logs_collected: {files: {collect_list: [
     file("/var/log/messages"),
     file("/var/log/docker"),
     file("/var/log/ecs/ecs-init.log"),
     file("/var/log/ecs/ecs-agent.log"),
     file("/var/log/ecs/audit.log")
   ]}}}}' | replace "$cwagent_config" || true
echo "firstrun: CloudWatch log groups under $log_group_prefix"

systemctl daemon-reload
amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -c "file:$cwagent_config" -s
systemctl enable --now docker
if $docker_changed; then systemctl restart docker; fi
# --no-block: the health check below reports progress while the agent starts.
systemctl enable --now --no-block ecs

metadata=http://localhost:51678/v1/metadata
started=$SECONDS
next_report=0
while true; do
    cluster="$(curl -fsS --max-time 2 "$metadata" 2>/dev/null | jq -r '.Cluster // empty' 2>/dev/null || true)"
    if [[ "$cluster" == "$ECS_CLUSTER" ]]; then
        echo "firstrun: the ECS agent joined cluster $ECS_CLUSTER after $((SECONDS - started)) s"
        exit 0
    fi
    waited=$((SECONDS - started))
    if ((waited >= timeout)); then
        echo "error: the ECS agent did not join cluster $ECS_CLUSTER within $timeout s (see /var/log/ecs/ecs-agent.log)" >&2
        exit 1
    fi
    if ((waited >= next_report)); then
        echo "firstrun: waiting for the ECS agent to join cluster $ECS_CLUSTER (${waited} s of $timeout s)"
        next_report=$((waited + 10))
    fi
    sleep 1
done
