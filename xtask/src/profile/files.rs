//! Finds and reads the AWS config and credentials files as the AWS CLI does, so that a file
//! that is there but cannot be read is an error naming it: aws-config would read it as an
//! empty file, and the user would only hear that the profile does not exist.

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use anyhow::bail;

/// Which of the two files.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Config,
    Credentials,
}

impl Kind {
    pub(crate) const BOTH: [Kind; 2] = [Kind::Config, Kind::Credentials];

    pub(crate) fn variable(self) -> &'static str {
        match self {
            Kind::Config => "AWS_CONFIG_FILE",
            Kind::Credentials => "AWS_SHARED_CREDENTIALS_FILE",
        }
    }

    fn default_path(self) -> &'static str {
        match self {
            Kind::Config => "~/.aws/config",
            Kind::Credentials => "~/.aws/credentials",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Config => "config",
            Kind::Credentials => "credentials",
        }
    }
}

/// One file looked for: where, why there, and whether it was there.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Searched {
    pub(crate) kind: Kind,
    pub(crate) path: PathBuf,
    /// True when the path came from the kind's variable rather than the default.
    pub(crate) from_variable: bool,
    pub(crate) found: bool,
}

impl Searched {
    /// The path, with the variable that named it and "no such file" when it was absent.
    fn describe(&self) -> String {
        let mut notes = Vec::new();
        if self.from_variable {
            notes.push(self.kind.variable());
        }
        if !self.found {
            notes.push("no such file");
        }
        if notes.is_empty() {
            self.path.display().to_string()
        } else {
            format!("{} ({})", self.path.display(), notes.join(", "))
        }
    }
}

/// The files as one phrase for an error line: `/h/.aws/config or /h/.aws/credentials`.
pub(crate) fn describe(searched: &[Searched]) -> String {
    let parts: Vec<String> = searched.iter().map(Searched::describe).collect();
    parts.join(" or ")
}

/// Where a file is: the kind's variable when set and not empty, else the default; a
/// leading `~` is the home directory (in both cases, as aws-config expands it).
pub(crate) fn locate(
    kind: Kind,
    variable: Option<OsString>,
    home: Option<OsString>,
) -> (PathBuf, bool) {
    let (path, from_variable) = match variable.filter(|v| !v.is_empty()) {
        Some(v) => (PathBuf::from(v), true),
        None => (PathBuf::from(kind.default_path()), false),
    };
    let mut components = path.components();
    let path = match (components.next(), home) {
        (Some(Component::Normal(first)), Some(home)) if first == "~" => {
            Path::new(&home).join(components.as_path())
        }
        _ => path,
    };
    (path, from_variable)
}

/// Reads a located file: `None` when it does not exist (the AWS CLI allows that), its text
/// when it does, one line naming the file and the fix when it cannot be read as text.
pub(crate) fn read(kind: Kind, path: &Path, from_variable: bool) -> anyhow::Result<Option<String>> {
    let what = format!(
        "the AWS {} file {}{}",
        kind.noun(),
        path.display(),
        if from_variable {
            format!(" ({})", kind.variable())
        } else {
            String::new()
        }
    );
    let elsewhere = format!("or set {} to another file", kind.variable());
    if path.is_dir() {
        bail!(
            "cannot read {what}: it is a directory; point {} at a file",
            kind.variable()
        );
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) if err.kind() == ErrorKind::PermissionDenied => bail!(
            "cannot read {what}: permission denied; make it readable by this user {elsewhere}"
        ),
        Err(err) => bail!("cannot read {what}: {err}; fix it {elsewhere}"),
    };
    text(bytes).map(Some).map_err(|line| {
        anyhow::anyhow!("cannot read {what}: line {line} is not UTF-8 text; save the file as UTF-8")
    })
}

/// The bytes as text, or the line (from 1) of the first byte that is not UTF-8.
fn text(bytes: Vec<u8>) -> Result<String, usize> {
    String::from_utf8(bytes).map_err(|err| {
        let good = &err.as_bytes()[..err.utf8_error().valid_up_to()];
        good.iter().filter(|b| **b == b'\n').count() + 1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variables_win_over_the_defaults_and_a_tilde_is_the_home() {
        let home = Some(OsString::from("/home/al"));
        assert_eq!(
            locate(Kind::Config, None, home.clone()),
            (PathBuf::from("/home/al/.aws/config"), false)
        );
        assert_eq!(
            locate(Kind::Credentials, Some("".into()), home.clone()),
            (PathBuf::from("/home/al/.aws/credentials"), false)
        );
        assert_eq!(
            locate(Kind::Config, Some("/etc/aws.cfg".into()), home.clone()),
            (PathBuf::from("/etc/aws.cfg"), true)
        );
        assert_eq!(
            locate(Kind::Config, Some("~/work/cfg".into()), home),
            (PathBuf::from("/home/al/work/cfg"), true)
        );
        assert_eq!(
            locate(Kind::Config, None, None),
            (PathBuf::from("~/.aws/config"), false)
        );
    }

    #[test]
    fn the_first_byte_that_is_not_utf8_is_found_by_line() {
        assert_eq!(text(b"[default]\n".to_vec()), Ok("[default]\n".into()));
        assert_eq!(text(b"[a]\nregion = x\nname = \xff\n".to_vec()), Err(3));
        assert_eq!(text(b"\xfe".to_vec()), Err(1));
    }

    #[test]
    fn searched_files_say_where_they_came_from_and_whether_they_were_there() {
        let files = [
            Searched {
                kind: Kind::Config,
                path: "/x/cfg".into(),
                from_variable: true,
                found: false,
            },
            Searched {
                kind: Kind::Credentials,
                path: "/h/.aws/credentials".into(),
                from_variable: false,
                found: true,
            },
        ];
        assert_eq!(
            describe(&files),
            "/x/cfg (AWS_CONFIG_FILE, no such file) or /h/.aws/credentials"
        );
    }
}
