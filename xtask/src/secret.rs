//! A secret string (secret key, session token, MFA code) that never shows itself in
//! `Debug` or `Display`, so it cannot leak into a log line or an error by accident.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself: only for the cache file, the STS call and a child's environment.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**redacted**")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_its_value() {
        let s = Secret::new("wJalrXUtnFEMI");
        assert!(!format!("{s:?} {s} {s:#?}").contains("wJalr"));
        assert_eq!(s.expose(), "wJalrXUtnFEMI");
    }
}
