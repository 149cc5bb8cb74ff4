//! What packer's log (`PACKER_LOG_PATH`) says about a failed build: which provisioning
//! script was running and what it printed last.

/// ` in scripts/storage.sh (exit status 7): what it printed last`, read from packer's log:
/// the shell provisioner that was running when the build failed, and its last lines.
pub(super) fn packer_failure(log: &str) -> String {
    const MARK: &str = "Provisioning with shell script: ";
    let lines: Vec<String> = log.lines().map(strip_ansi).collect();
    let Some(start) = lines.iter().rposition(|l| l.contains(MARK)) else {
        return String::new();
    };
    let script = lines[start].split(MARK).nth(1).unwrap_or("").trim();
    let script = match script.rsplit_once("/scripts/") {
        Some((_, name)) => format!("scripts/{name}"),
        None => script.to_string(),
    };
    let mut said = Vec::new();
    let mut status = String::new();
    for line in &lines[start + 1..] {
        if let Some((_, code)) = line.split_once("non-zero exit status: ") {
            status = format!(" (exit status {})", code.split('.').next().unwrap_or(code));
            break;
        }
        // The script's stdout comes as `ui:     name: …`, its stderr as `ui error: ==> name: …`.
        let text = match (line.split_once(" ui: "), line.split_once(" ui error: ")) {
            (Some((_, ui)), _) if ui.starts_with("    ") => ui.trim_start(),
            (_, Some((_, ui))) => ui.strip_prefix("==> ").unwrap_or(ui),
            _ => continue,
        };
        if let Some((_, text)) = text.split_once(": ") {
            said.push(text.trim().to_string());
        }
    }
    let tail = said[said.len().saturating_sub(3)..].join(" | ");
    format!(" in {script}{status}: {tail}")
}

/// The text without terminal colour codes.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ … letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_build_names_the_script_its_status_and_what_it_said() {
        let log = "\
2026/11/25 17:47:04 ui: \u{1b}[1;32m==> amazon-ebs.ecs: Provisioning with shell script: /r/packer/../scripts/time.sh\u{1b}[0m
2026/11/25 17:47:05 ui: \u{1b}[1;32m==> amazon-ebs.ecs: Provisioning with shell script: /r/packer/../scripts/storage.sh\u{1b}[0m
2026/11/25 17:47:05 packer-provisioner-shell plugin: Opening /r/scripts/storage.sh for reading
2026/11/25 17:47:05 ui: \u{1b}[0;32m    amazon-ebs.ecs: storage: data volume is /dev/xvdcy\u{1b}[0m
2026/11/25 17:47:05 ui error: \u{1b}[1;31m==> amazon-ebs.ecs: mkfs.ext4: no such device\u{1b}[0m
2026/11/25 17:47:05 ui error: \u{1b}[1;31mBuild 'amazon-ebs.ecs' errored after 2 seconds: Script exited with non-zero exit status: 7.Allowed exit codes are: [0]\u{1b}[0m
2026/11/25 17:47:05 ui: \u{1b}[1;32m==> amazon-ebs.ecs: Terminating the source AWS instance...\u{1b}[0m
";
        assert_eq!(
            packer_failure(log),
            " in scripts/storage.sh (exit status 7): storage: data volume is /dev/xvdcy | mkfs.ext4: no such device"
        );
        assert_eq!(packer_failure("nothing useful"), "");
    }
}
