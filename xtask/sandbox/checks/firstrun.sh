#!/usr/bin/env bash
# checks/firstrun.sh CLUSTER LOG_GROUP_PREFIX [PROXY_URL]: run inside the sandbox (enter.sh)
# after files/firstrun.sh ran there. Checks what a first run must leave behind: the
# cluster in ecs.config, the proxy settings exactly when PROXY_URL is given, the
# CloudWatch agent's configuration, and the services. Prints one line a check,
# "ok|fail<TAB>what<TAB>detail"; exits 0 once every check has run.
# Reads: /run/sandbox/calls.log (what the stand-ins were asked).
set -euo pipefail

cluster="$1"
prefix="$2"
proxy="${3:-}"
calls=/run/sandbox/calls.log
ecs_config=/etc/ecs/ecs.config
docker_dropin=/etc/systemd/system/docker.service.d/http-proxy.conf
cwagent_dir=/opt/aws/amazon-cloudwatch-agent/etc

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ecs_cluster() {
    local lines duplicates
    lines="$(grep -c "^ECS_CLUSTER=$cluster\$" "$ecs_config" || true)"
    [[ "$lines" == 1 ]] || { echo "$ecs_config has $lines ECS_CLUSTER=$cluster lines"; return 1; }
    duplicates="$(sort "$ecs_config" | uniq -d)"
    [[ -z "$duplicates" ]] || { echo "duplicated lines: $duplicates"; return 1; }
    echo "ECS_CLUSTER=$cluster, once"
}

no_proxy_anywhere() {
    local found
    found="$(grep -rlis 'proxy' "$ecs_config" "$docker_dropin" /etc/systemd/system/ecs.service.d \
        "$cwagent_dir/common-config.toml" 2>/dev/null || true)"
    [[ -z "$found" ]] || { echo "proxy settings written to ${found//$'\n'/ }"; return 1; }
    echo "none in ecs.config, Docker or the CloudWatch agent"
}

proxy_everywhere() {
    local missing=()
    grep -qx "HTTP_PROXY=$proxy" "$ecs_config" || missing+=("ecs.config HTTP_PROXY")
    grep -qx "NO_PROXY=169.254.169.254,169.254.170.2,/var/run/docker.sock" "$ecs_config" ||
        missing+=("ecs.config NO_PROXY")
    grep -qsF "HTTP_PROXY=$proxy" "$docker_dropin" || missing+=("$docker_dropin")
    grep -qsF "$proxy" "$cwagent_dir/common-config.toml" || missing+=("CloudWatch agent proxy")
    [[ ${#missing[@]} -eq 0 ]] || { echo "missing: ${missing[*]}"; return 1; }
    echo "$proxy for Docker, the ECS agent and the CloudWatch agent"
}

cloudwatch_config() {
    local config="$cwagent_dir/amazon-cloudwatch-agent.json" groups wrong
    [[ -f "$config" ]] || { echo "$config is missing"; return 1; }
    groups="$(jq -r '.logs.logs_collected.files.collect_list[].log_group_name' "$config")"
    wrong="$(grep -v "^$prefix/" <<<"$groups" || true)"
    [[ -n "$groups" && -z "$wrong" ]] || { echo "log groups outside $prefix: $wrong"; return 1; }
    echo "$(wc -l <<<"$groups") log groups under $prefix, streams by instance id"
}

services() {
    local problems=()
    [[ "$(systemctl is-active docker || true)" == active ]] || problems+=("docker not running")
    [[ "$(systemctl is-enabled docker || true)" == enabled ]] || problems+=("docker not enabled")
    [[ "$(systemctl is-active ecs || true)" == active ]] || problems+=("ecs not started")
    # The image has ecs disabled at boot: the first run enables it.
    [[ "$(systemctl is-enabled ecs || true)" == enabled ]] || problems+=("ecs not enabled")
    grep -qE '^systemctl .*--no-block.* ecs' "$calls" || problems+=("ecs not started with --no-block")
    grep -qE '^amazon-cloudwatch-agent-ctl .*fetch-config' "$calls" ||
        problems+=("CloudWatch agent not started")
    [[ ${#problems[@]} -eq 0 ]] || { echo "${problems[*]}"; return 1; }
    echo "CloudWatch agent, Docker and ECS (--no-block) enabled and started"
}

check "cluster in ecs.config" ecs_cluster
if [[ -z "$proxy" ]]; then
    check "no proxy settings" no_proxy_anywhere
else
    check "proxy settings" proxy_everywhere
fi
check "CloudWatch agent configuration" cloudwatch_config
check "services" services
