//! The rehearsal's checklist: lines a check script prints (`ok|fail<TAB>what<TAB>detail`)
//! and checks made in xtask, shown as ✓ or ✗ a line.

use std::fmt::Write as _;

#[derive(Debug, PartialEq)]
pub(crate) struct Check {
    pub(crate) ok: bool,
    pub(crate) what: String,
    pub(crate) detail: String,
}

impl Check {
    pub(crate) fn new(ok: bool, what: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            ok,
            what: what.into(),
            detail: detail.into(),
        }
    }
}

/// Reads a check script's output; a line that is not `ok|fail<TAB>what<TAB>detail` is a
/// failed check itself, so a broken script can never pass unnoticed.
pub(crate) fn parse(section: &str, output: &str) -> Vec<Check> {
    output
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut fields = line.splitn(3, '\t');
            match (fields.next(), fields.next(), fields.next()) {
                (Some(verdict @ ("ok" | "fail")), Some(what), detail) => Check::new(
                    verdict == "ok",
                    format!("{section}: {what}"),
                    detail.unwrap_or_default(),
                ),
                _ => Check::new(false, format!("{section}: unreadable check output"), line),
            }
        })
        .collect()
}

pub(crate) fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for check in checks {
        let mark = if check.ok { '✓' } else { '✗' };
        let _ = writeln!(out, "{mark} {} — {}", check.what, check.detail);
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    let _ = match failed {
        0 => writeln!(out, "all {} checks passed", checks.len()),
        n => writeln!(out, "{n} of {} checks failed", checks.len()),
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_lines_become_checks_and_garbage_fails() {
        let checks = parse(
            "image",
            "ok\tdata volume\tLABEL=docker\nfail\ttimezone\tUTC\n\nboom\n",
        );
        assert_eq!(
            checks,
            vec![
                Check::new(true, "image: data volume", "LABEL=docker"),
                Check::new(false, "image: timezone", "UTC"),
                Check::new(false, "image: unreadable check output", "boom"),
            ]
        );
    }

    #[test]
    fn the_rendering_marks_each_line_and_counts_failures() {
        let text = render(&[
            Check::new(true, "a", "fine"),
            Check::new(false, "b", "broken"),
        ]);
        assert_eq!(text, "✓ a — fine\n✗ b — broken\n1 of 2 checks failed\n");
        assert!(render(&[Check::new(true, "a", "x")]).ends_with("all 1 checks passed\n"));
    }
}
