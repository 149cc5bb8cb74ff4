//! The provisioning scripts, run for real in the sandbox: what they leave in the image and
//! what they ask of the AL2023-only programs.

#[allow(dead_code)] // each test file uses part of the helpers
mod image_sandbox;

use image_sandbox::{Sandbox, text};

fn fstab_lines(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .read("/etc/fstab")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("LABEL=docker"))
        .map(String::from)
        .collect()
}

#[test]
fn storage_formats_the_volume_once_and_mounts_it_by_label_with_one_fstab_line() {
    let sandbox = Sandbox::new("storage-twice");
    for _ in 0..2 {
        let out = sandbox.script("scripts/storage.sh", &[]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_eq!(
        fstab_lines(&sandbox),
        ["LABEL=docker\t/data\text4\tdefaults,noatime,nofail\t0\t2"]
    );
    let calls = sandbox.calls();
    let mkfs: Vec<_> = calls.iter().filter(|c| c.starts_with("mkfs")).collect();
    assert_eq!(mkfs, ["mkfs.ext4 -q -L docker /dev/xvdcy"]);
    assert_eq!(calls.iter().filter(|c| *c == "mount -a").count(), 2);
    let mounted = sandbox.run(&[], &["mount"]);
    assert!(
        text(&mounted.stdout).contains("LABEL=docker on /data type ext4 (defaults,noatime,nofail)"),
        "{}",
        text(&mounted.stdout)
    );
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn storage_follows_the_udev_symlink_to_the_nvme_device_on_nitro() {
    let sandbox = Sandbox::new("storage-nvme");
    sandbox.set("device", "nvme");
    let out = sandbox.script("scripts/storage.sh", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        sandbox
            .calls()
            .contains(&"mkfs.ext4 -q -L docker /dev/nvme1n1".to_string()),
        "{:?}",
        sandbox.calls()
    );
    assert_eq!(fstab_lines(&sandbox).len(), 1);
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn storage_finds_the_nvme_device_by_its_ebs_name_when_the_symlink_is_missing() {
    let sandbox = Sandbox::new("storage-nvme-nolink");
    sandbox.set("device", "nvme-nolink");
    let out = sandbox.script("scripts/storage.sh", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let calls = sandbox.calls();
    assert!(
        calls.contains(&"ebsnvme-id -b /dev/nvme0n1".to_string()),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"mkfs.ext4 -q -L docker /dev/nvme1n1".to_string()),
        "{calls:?}"
    );
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn storage_without_a_data_volume_fails_with_one_clear_line_and_writes_no_fstab_line() {
    let sandbox = Sandbox::new("storage-none");
    sandbox.set("device", "none");
    let out = sandbox.script("scripts/storage.sh", &[]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: data volume not found"),
        "{stderr}"
    );
    assert!(fstab_lines(&sandbox).is_empty());
    assert!(!sandbox.calls().iter().any(|c| c.starts_with("mkfs")));
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn storage_refuses_a_volume_that_already_holds_a_filesystem_not_its_own_in_one_line() {
    let sandbox = Sandbox::new("storage-foreign");
    // A volume restored from someone's snapshot, attached in the data volume's slot.
    sandbox.set("filesystems/xvdcy", "TYPE=xfs\nLABEL=backups\n");
    let out = sandbox.script("scripts/storage.sh", &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr,
        "error: /dev/xvdcy already holds a xfs filesystem labelled \"backups\", not ext4 labelled docker (if it holds nothing you need, wipe it: wipefs -a /dev/xvdcy)\n"
    );
    assert!(fstab_lines(&sandbox).is_empty());
    let calls = sandbox.calls();
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("mkfs") || c.starts_with("mount")),
        "{calls:?}"
    );

    // A partitioned disk has no filesystem, but is not blank either.
    sandbox.set("filesystems/xvdcy", "PTTYPE=gpt\n");
    let out = sandbox.script("scripts/storage.sh", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: /dev/xvdcy holds a gpt partition table, not a filesystem (if it holds nothing you need, wipe it: wipefs -a /dev/xvdcy)\n"
    );
    assert!(!sandbox.calls().iter().any(|c| c.starts_with("mkfs")));
    assert!(fstab_lines(&sandbox).is_empty());

    // An ext4 volume labelled docker (an earlier run's) is taken as it is.
    sandbox.set("filesystems/xvdcy", "TYPE=ext4\nLABEL=docker\n");
    let out = sandbox.script("scripts/storage.sh", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!sandbox.calls().iter().any(|c| c.starts_with("mkfs")));
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn storage_fails_in_one_line_when_mount_a_leaves_data_unmounted() {
    let sandbox = Sandbox::new("storage-unmounted");
    // An fstab line for the label already there, which mount -a passes over: with nofail a
    // label it cannot find would be passed over just as silently.
    sandbox.seed(
        "/etc/fstab",
        "LABEL=docker\t/data\text4\tdefaults,noauto,nofail\t0\t2\n",
    );
    let out = sandbox.script("scripts/storage.sh", &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr,
        "error: /data is not mounted after mount -a (see the LABEL=docker line in /etc/fstab and: blkid /dev/xvdcy)\n"
    );
    assert!(sandbox.calls().contains(&"mount -a".to_string()));
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn time_links_the_zone_and_keeps_chronyd_on_the_amazon_time_sync_service() {
    let sandbox = Sandbox::new("time");
    for _ in 0..2 {
        let out = sandbox.script("scripts/time.sh", &[("TIMEZONE", "US/Eastern")]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let link = std::fs::read_link(sandbox.host_path("/etc/localtime")).unwrap();
    assert_eq!(
        link,
        std::path::Path::new("../usr/share/zoneinfo/US/Eastern")
    );
    let chrony = sandbox.read("/etc/chrony.conf").unwrap();
    assert_eq!(
        chrony.matches("169.254.169.123").count(),
        1,
        "server line written once: {chrony}"
    );
    assert!(
        sandbox
            .calls()
            .contains(&"systemctl enable --now chronyd".to_string())
    );
    let enabled = sandbox.run(&[], &["systemctl", "is-enabled", "chronyd"]);
    assert_eq!(text(&enabled.stdout).trim(), "enabled");
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn time_leaves_an_al2023_chrony_configuration_that_already_uses_time_sync_alone() {
    let sandbox = Sandbox::new("time-al2023");
    let al2023 = "# Use Amazon Time Sync Service\nserver 169.254.169.123 prefer iburst minpoll 4 maxpoll 4\npool 2.amazon.pool.ntp.org iburst\n";
    sandbox.seed("/etc/chrony.conf", al2023);
    let out = sandbox.script("scripts/time.sh", &[("TIMEZONE", "Europe/Paris")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(sandbox.read("/etc/chrony.conf").unwrap(), al2023);
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn time_recognises_al2023s_time_sync_source_under_chrony_d() {
    let sandbox = Sandbox::new("time-chrony-d");
    let source = "server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4\n";
    sandbox.seed("/etc/chrony.d/link-local.sources", source);
    sandbox.seed("/etc/chrony.conf", "sourcedir /etc/chrony.d\n");
    let out = sandbox.script("scripts/time.sh", &[("TIMEZONE", "UTC")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        sandbox.read("/etc/chrony.conf").unwrap(),
        "sourcedir /etc/chrony.d\n"
    );
    assert_eq!(
        sandbox.read("/etc/chrony.d/link-local.sources").unwrap(),
        source
    );
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn time_refuses_an_unknown_zone_and_leaves_localtime_alone() {
    let sandbox = Sandbox::new("time-unknown");
    for zone in ["Mars/Olympus_Mons", "../../etc/passwd", ""] {
        let out = sandbox.script("scripts/time.sh", &[("TIMEZONE", zone)]);
        assert!(!out.status.success(), "{zone:?} was accepted");
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
    assert!(std::fs::symlink_metadata(sandbox.host_path("/etc/localtime")).is_err());
    assert!(sandbox.calls().is_empty(), "{:?}", sandbox.calls());
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn cloudinit_drops_in_a_config_that_installs_no_updates_at_boot() {
    let sandbox = Sandbox::new("cloudinit");
    for _ in 0..2 {
        let out = sandbox.script("scripts/cloudinit.sh", &[]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let dir = sandbox.host_path("/etc/cloud/cloud.cfg.d");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        files,
        ["90-packer-ecs-no-updates.cfg"],
        "no temporary files left"
    );
    let dropin = sandbox
        .read("/etc/cloud/cloud.cfg.d/90-packer-ecs-no-updates.cfg")
        .unwrap();
    assert!(
        dropin.lines().any(|l| l == "repo_upgrade: none"),
        "{dropin}"
    );
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn packages_update_the_system_except_docker_and_ecs_and_install_the_helpers() {
    let sandbox = Sandbox::new("packages");
    let out = sandbox.script("scripts/packages.sh", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let calls = sandbox.calls();
    let upgrade = calls
        .iter()
        .find(|c| c.starts_with("dnf -y upgrade"))
        .unwrap();
    for excluded in ["docker*", "ecs-init*", "containerd*"] {
        assert!(
            upgrade.contains(&format!("--exclude={excluded}")),
            "{upgrade}"
        );
    }
    let install = calls
        .iter()
        .find(|c| c.starts_with("dnf -y install"))
        .unwrap();
    for package in ["aws-cfn-bootstrap", "amazon-cloudwatch-agent", "jq"] {
        assert!(install.split(' ').any(|w| w == package), "{install}");
    }
    assert!(
        sandbox
            .read("/etc/rsyslog.d/30-docker.conf")
            .unwrap()
            .contains("/var/log/docker")
    );
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn cleanup_stops_ecs_disables_ecs_and_docker_at_boot_and_resets_per_instance_state() {
    let sandbox = Sandbox::new("cleanup");
    // What a build instance has by the time clean-up runs.
    sandbox.seed("/var/log/ecs/ecs-agent.log", "registered to default\n");
    sandbox.seed("/var/lib/ecs/data/agent.db", "state\n");
    sandbox.seed("/var/lib/cloud/instances/i-0123/boot-finished", "\n");
    sandbox.seed("/etc/ssh/ssh_host_ed25519_key", "key\n");
    sandbox.seed("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    sandbox.seed(
        "/home/ec2-user/.ssh/authorized_keys",
        "ssh-ed25519 AAAA packer\n",
    );
    let out = sandbox.script("scripts/cleanup.sh", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let calls = sandbox.calls();
    let position = |call: &str| calls.iter().position(|c| c == call);
    assert!(position("systemctl stop ecs") < position("systemctl stop docker docker.socket"));
    assert!(
        position("docker system prune --all --force --volumes").is_some(),
        "{calls:?}"
    );
    let docker = sandbox.run(&[], &["systemctl", "is-enabled", "docker"]);
    assert_eq!(text(&docker.stdout).trim(), "disabled");
    let ecs = sandbox.run(&[], &["systemctl", "is-active", "ecs"]);
    assert_eq!(text(&ecs.stdout).trim(), "inactive");
    // Enabled, ecs.service would start at boot, pull Docker in and join "default".
    let ecs = sandbox.run(&[], &["systemctl", "is-enabled", "ecs"]);
    assert_eq!(text(&ecs.stdout).trim(), "disabled");

    for gone in [
        "/var/log/ecs/ecs-agent.log",
        "/var/lib/ecs/data/agent.db",
        "/var/lib/cloud/instances",
        "/etc/ssh/ssh_host_ed25519_key",
        "/home/ec2-user/.ssh/authorized_keys",
    ] {
        assert!(!sandbox.exists(gone), "{gone} survived clean-up");
    }
    assert_eq!(sandbox.read("/etc/machine-id").unwrap(), "");
    sandbox.assert_gone_and_host_untouched();
}

#[test]
fn the_sandbox_refuses_to_start_without_root_in_one_line() {
    let sandbox = Sandbox::new("no-root");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(image_sandbox::repo().join("xtask/sandbox/enter.sh"))
        .arg(&sandbox.state)
        .arg("true")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: the sandbox needs root (mount and pid namespaces)\n"
    );
}

#[test]
fn killing_enter_sh_leaves_no_process_or_mount_behind() {
    let sandbox = Sandbox::new("killed");
    let mut child =
        std::process::Command::new(image_sandbox::repo().join("xtask/sandbox/enter.sh"))
            .arg(&sandbox.state)
            .args(["sh", "-c", "sleep 600 & sleep 600"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
    // The sandbox is up once its /run/sandbox mount shows in some process.
    let needle = sandbox.state.to_string_lossy().into_owned();
    let up = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read_to_string(e.path().join("mountinfo")).is_ok_and(|m| m.contains(&needle))
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !up() {
        assert!(
            std::time::Instant::now() < deadline,
            "the sandbox never came up"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while up() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    sandbox.assert_gone_and_host_untouched();
}
