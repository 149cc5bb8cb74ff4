//! The first-run script, run for real in the sandbox against the stand-in ECS agent.

#[allow(dead_code)] // each test file uses part of the helpers
mod image_sandbox;

use image_sandbox::{Sandbox, text};

const CLUSTER: [(&str, &str); 4] = [
    ("ECS_CLUSTER", "web-prod"),
    ("STACK_NAME", "shop"),
    ("AUTOSCALING_GROUP", "shop-asg"),
    ("HEALTH_CHECK_TIMEOUT", "20"),
];
const PROXY: (&str, &str) = ("PROXY_URL", "http://proxy.internal:3128");

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    CLUSTER.iter().chain(extra).copied().collect()
}

/// Every file under the sandbox's upper layers whose content mentions `needle`.
fn files_mentioning(sandbox: &Sandbox, needle: &str) -> Vec<String> {
    fn walk(dir: &std::path::Path, needle: &str, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                walk(&path, needle, found);
            } else if kind.is_file()
                && std::fs::read(&path)
                    .is_ok_and(|b| String::from_utf8_lossy(&b).to_lowercase().contains(needle))
            {
                found.push(path.display().to_string());
            }
        }
    }
    let mut found = Vec::new();
    for top in ["etc", "opt"] {
        walk(&sandbox.host_path(top), needle, &mut found);
    }
    found
}

#[test]
fn without_a_proxy_the_instance_joins_its_cluster_and_no_proxy_setting_is_written() {
    let sandbox = Sandbox::new("firstrun-plain");
    let out = sandbox.script("files/firstrun.sh", &with(&[("PROXY_URL", "")]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("the ECS agent joined cluster web-prod"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        sandbox.read("/etc/ecs/ecs.config").unwrap(),
        "ECS_CLUSTER=web-prod\n"
    );
    assert_eq!(files_mentioning(&sandbox, "proxy"), Vec::<String>::new());

    let calls = sandbox.calls();
    let position = |call: &str| {
        calls
            .iter()
            .position(|c| c == call)
            .unwrap_or_else(|| panic!("no call {call:?} in {calls:?}"))
    };
    let cwagent = "amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json -s";
    assert!(position(cwagent) < position("systemctl enable --now docker"));
    // Never a blocking start of ecs: its unit waits for cloud-final, which runs user data.
    assert!(
        position("systemctl enable --now docker")
            < position("systemctl enable --now --no-block ecs")
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("systemctl") && c.contains("ecs") && !c.contains("--no-block"))
    );
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn the_cloudwatch_agent_ships_each_al2023_log_to_a_group_per_stack_and_autoscaling_group() {
    let sandbox = Sandbox::new("firstrun-logs");
    let out = sandbox.script(
        "files/firstrun.sh",
        &with(&[("AWS_DEFAULT_REGION", "eu-west-1")]),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let config: serde_json::Value = serde_json::from_str(
        &sandbox
            .read("/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(config["agent"]["region"], "eu-west-1");
    let files = config["logs"]["logs_collected"]["files"]["collect_list"]
        .as_array()
        .unwrap();
    let groups: Vec<(&str, &str)> = files
        .iter()
        .map(|f| {
            (
                f["file_path"].as_str().unwrap(),
                f["log_group_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("/var/log/messages", "/shop/ec2/shop-asg/var/log/messages"),
            ("/var/log/docker", "/shop/ec2/shop-asg/var/log/docker"),
            (
                "/var/log/ecs/ecs-init.log",
                "/shop/ec2/shop-asg/var/log/ecs/ecs-init.log"
            ),
            (
                "/var/log/ecs/ecs-agent.log",
                "/shop/ec2/shop-asg/var/log/ecs/ecs-agent.log"
            ),
            (
                "/var/log/ecs/audit.log",
                "/shop/ec2/shop-asg/var/log/ecs/audit.log"
            ),
        ]
    );
    assert!(
        files
            .iter()
            .all(|f| f["log_stream_name"] == "{instance_id}")
    );
    let status = sandbox.run(&[], &["amazon-cloudwatch-agent-ctl", "-a", "status"]);
    assert!(
        text(&status.stdout).contains("running"),
        "{}",
        text(&status.stdout)
    );
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn with_a_proxy_docker_the_ecs_agent_and_the_cloudwatch_agent_use_it() {
    let sandbox = Sandbox::new("firstrun-proxy");
    let out = sandbox.script("files/firstrun.sh", &with(&[PROXY]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let no_proxy = "169.254.169.254,169.254.170.2,/var/run/docker.sock";
    assert_eq!(
        sandbox.read("/etc/ecs/ecs.config").unwrap(),
        format!(
            "ECS_CLUSTER=web-prod\nHTTP_PROXY=http://proxy.internal:3128\nNO_PROXY={no_proxy}\n"
        )
    );
    let docker = sandbox
        .read("/etc/systemd/system/docker.service.d/http-proxy.conf")
        .unwrap();
    assert!(docker.starts_with("[Service]\n"), "{docker}");
    assert!(
        docker.contains("\"HTTP_PROXY=http://proxy.internal:3128\""),
        "{docker}"
    );
    assert!(
        docker.contains(&format!("\"NO_PROXY={no_proxy}\"")),
        "{docker}"
    );
    let cwagent = sandbox
        .read("/opt/aws/amazon-cloudwatch-agent/etc/common-config.toml")
        .unwrap();
    assert!(
        cwagent.contains("http_proxy = \"http://proxy.internal:3128\""),
        "{cwagent}"
    );
    assert!(
        sandbox
            .calls()
            .contains(&"systemctl daemon-reload".to_string())
    );
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn run_twice_it_writes_no_line_twice_and_a_run_without_proxy_takes_the_proxy_away() {
    let sandbox = Sandbox::new("firstrun-twice");
    sandbox.seed("/etc/ecs/ecs.config", "ECS_ENABLE_TASK_IAM_ROLE=true\n");
    for _ in 0..2 {
        let out = sandbox.script("files/firstrun.sh", &with(&[PROXY]));
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let config = sandbox.read("/etc/ecs/ecs.config").unwrap();
    let mut lines: Vec<&str> = config.lines().collect();
    assert_eq!(lines.len(), 4, "{config}");
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), 4, "a duplicated line: {config}");
    assert!(
        config.starts_with("ECS_ENABLE_TASK_IAM_ROLE=true\n"),
        "kept: {config}"
    );

    let out = sandbox.script("files/firstrun.sh", &CLUSTER);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        sandbox.read("/etc/ecs/ecs.config").unwrap(),
        "ECS_ENABLE_TASK_IAM_ROLE=true\nECS_CLUSTER=web-prod\n"
    );
    assert!(!sandbox.exists("/etc/systemd/system/docker.service.d/http-proxy.conf"));
    assert!(!sandbox.exists("/opt/aws/amazon-cloudwatch-agent/etc/common-config.toml"));
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn a_missing_ecs_cluster_is_refused_in_one_line_before_anything_is_written() {
    let sandbox = Sandbox::new("firstrun-missing");
    let env: Vec<_> = CLUSTER
        .iter()
        .filter(|(k, _)| *k != "ECS_CLUSTER")
        .copied()
        .collect();
    let out = sandbox.script("files/firstrun.sh", &env);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: firstrun needs ECS_CLUSTER"),
        "{stderr}"
    );
    assert!(sandbox.calls().is_empty(), "{:?}", sandbox.calls());
    for dir in ["etc", "opt"] {
        let written: Vec<_> = std::fs::read_dir(sandbox.host_path(dir))
            .unwrap()
            .flatten()
            .collect();
        assert!(written.is_empty(), "{dir}: {written:?}");
    }
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn a_health_check_that_never_sees_the_cluster_times_out_in_one_clear_line() {
    let sandbox = Sandbox::new("firstrun-timeout");
    sandbox.set("agent", "never");
    let env: Vec<_> = CLUSTER
        .iter()
        .map(|&(k, v)| {
            if k == "HEALTH_CHECK_TIMEOUT" {
                (k, "2")
            } else {
                (k, v)
            }
        })
        .collect();
    let out = sandbox.script("files/firstrun.sh", &env);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr,
        "error: the ECS agent did not join cluster web-prod within 2 s (see /var/log/ecs/ecs-agent.log)\n"
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("waiting for the ECS agent to join cluster web-prod"),
        "{stdout}"
    );
    let polls = sandbox
        .calls()
        .iter()
        .filter(|c| c.starts_with("curl") && c.contains("localhost:51678/v1/metadata"))
        .count();
    assert!(polls >= 2, "the agent API was polled {polls} times");
    sandbox.assert_gone_and_host_untouched();
}

/// Nothing under the sandbox's /etc and /opt: the script wrote no file.
fn assert_nothing_written(sandbox: &Sandbox) {
    for dir in ["etc", "opt"] {
        let written: Vec<_> = std::fs::read_dir(sandbox.host_path(dir))
            .unwrap()
            .flatten()
            .collect();
        assert!(written.is_empty(), "{dir}: {written:?}");
    }
}

#[test]
fn run_inside_cloud_final_it_fails_at_once_naming_systemd_run_instead_of_waiting_for_ecs() {
    let sandbox = Sandbox::new("firstrun-cloud-final");
    // User data is running: cloud-final is activating, so a start of ecs only queues.
    sandbox.set("units/cloud-final.active", "activating\n");
    let env: Vec<_> = CLUSTER
        .iter()
        .map(|&(k, v)| {
            if k == "HEALTH_CHECK_TIMEOUT" {
                (k, "3")
            } else {
                (k, v)
            }
        })
        .collect();
    let out = sandbox.script("files/firstrun.sh", &env);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: firstrun cannot run inside cloud-final"),
        "{stderr}"
    );
    assert!(
        stderr.contains("systemd-run --no-block --property=After=cloud-final.service"),
        "{stderr}"
    );
    assert_eq!(
        sandbox.calls(),
        ["systemctl is-active cloud-final.service"],
        "only the question, no service touched"
    );
    assert_nothing_written(&sandbox);

    // Once cloud-final is done (where systemd-run's unit, ordered after it, starts), the
    // same run joins the cluster.
    sandbox.set("units/cloud-final.active", "active\n");
    let out = sandbox.script("files/firstrun.sh", &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn a_proxy_url_that_could_break_out_of_its_config_files_is_refused_before_anything_is_written() {
    let sandbox = Sandbox::new("firstrun-bad-proxy");
    for proxy in [
        "proxy.internal:3128",
        "ftp://proxy.internal:21",
        "http://",
        "http://proxy\" \"EVIL=1",
        "http://proxy internal:3128",
        "http://proxy.internal:3128\nExecStartPre=/bin/sh",
        "http://%H:3128",
        "http://proxy\\internal:3128",
        "http://user:s3cret\"@proxy:3128",
    ] {
        let out = sandbox.script("files/firstrun.sh", &with(&[("PROXY_URL", proxy)]));
        assert_eq!(out.status.code(), Some(1), "{proxy:?} was accepted");
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{proxy:?}: {stderr}");
        assert!(
            stderr.starts_with("error: PROXY_URL must be a URL like http://proxy.example:3128"),
            "{stderr}"
        );
        assert!(!stderr.contains("s3cret"), "the URL's password was shown");
    }
    assert!(sandbox.calls().is_empty(), "{:?}", sandbox.calls());
    assert_nothing_written(&sandbox);

    let out = sandbox.script(
        "files/firstrun.sh",
        &with(&[("PROXY_URL", "https://build:pa55@proxy.internal:3128/")]),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    sandbox.assert_gone_and_host_untouched();
}
