//! Turns a session's variables into text a shell (or a tool) reads: pure formatting.

use clap::ValueEnum;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// `export NAME='value'` lines for bash and zsh (`eval "$(cargo xtask creds)"`).
    #[default]
    Env,
    /// `set -gx NAME 'value'` for fish.
    Fish,
    /// `$Env:NAME = 'value'` for PowerShell.
    Powershell,
    /// `NAME=value` lines for a .env file.
    Dotenv,
    /// The `credential_process` JSON document.
    Json,
}

/// The text for `vars` (name, value), which [`crate::session::Session::env`] produced.
pub(crate) fn render(format: Format, vars: &[(&str, String)]) -> String {
    let mut out = String::new();
    match format {
        Format::Env => {
            for (name, value) in vars {
                out.push_str(&format!("export {name}={}\n", sh_quote(value)));
            }
            out.push_str("unset AWS_PROFILE\n");
        }
        Format::Fish => {
            for (name, value) in vars {
                out.push_str(&format!("set -gx {name} {}\n", fish_quote(value)));
            }
            out.push_str("set -e AWS_PROFILE\n");
        }
        Format::Powershell => {
            for (name, value) in vars {
                out.push_str(&format!("$Env:{name} = '{}'\n", value.replace('\'', "''")));
            }
            out.push_str("Remove-Item Env:AWS_PROFILE -ErrorAction SilentlyContinue\n");
        }
        Format::Dotenv => {
            for (name, value) in vars {
                out.push_str(&format!("{name}={}\n", dotenv_quote(value)));
            }
        }
        Format::Json => {
            let get = |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| serde_json::Value::from(v.as_str()))
            };
            let mut doc = serde_json::Map::new();
            doc.insert("Version".into(), 1.into());
            for (key, name) in [
                ("AccessKeyId", "AWS_ACCESS_KEY_ID"),
                ("SecretAccessKey", "AWS_SECRET_ACCESS_KEY"),
                ("SessionToken", "AWS_SESSION_TOKEN"),
                ("Expiration", "AWS_CREDENTIAL_EXPIRATION"),
            ] {
                if let Some(value) = get(name) {
                    doc.insert(key.into(), value);
                }
            }
            out = serde_json::to_string_pretty(&doc).unwrap_or_default();
            out.push('\n');
        }
    }
    out
}

/// Single quotes keep everything literal in sh; a quote inside is closed, escaped, reopened.
fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// In fish single quotes only `\` and `'` are special.
fn fish_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
}

/// Plain when safe, else double-quoted with `\` and `"` escaped, as dotenv readers expect.
fn dotenv_quote(value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+/=-_.:".contains(c));
    if plain {
        value.to_string()
    } else {
        format!("\"{}\"", value.replace('\\', r"\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE".into()),
            ("AWS_SECRET_ACCESS_KEY", "a/b+c'd".into()),
            ("AWS_SESSION_TOKEN", "tok=".into()),
            ("AWS_CREDENTIAL_EXPIRATION", "2026-01-01T00:00:00Z".into()),
            ("AWS_REGION", "eu-west-1".into()),
        ]
    }

    #[test]
    fn env_lines_quote_for_sh_and_unset_the_profile() {
        assert_eq!(
            render(Format::Env, &vars()),
            "export AWS_ACCESS_KEY_ID='ASIAEXAMPLE'\n\
             export AWS_SECRET_ACCESS_KEY='a/b+c'\\''d'\n\
             export AWS_SESSION_TOKEN='tok='\n\
             export AWS_CREDENTIAL_EXPIRATION='2026-01-01T00:00:00Z'\n\
             export AWS_REGION='eu-west-1'\n\
             unset AWS_PROFILE\n"
        );
    }

    #[test]
    fn fish_and_powershell_escape_their_own_quotes() {
        let fish = render(Format::Fish, &vars());
        assert!(
            fish.contains("set -gx AWS_SECRET_ACCESS_KEY 'a/b+c\\'d'\n"),
            "{fish}"
        );
        assert!(fish.ends_with("set -e AWS_PROFILE\n"));
        let ps = render(Format::Powershell, &vars());
        assert!(
            ps.contains("$Env:AWS_SECRET_ACCESS_KEY = 'a/b+c''d'\n"),
            "{ps}"
        );
        assert!(ps.contains("Remove-Item Env:AWS_PROFILE"));
    }

    #[test]
    fn dotenv_quotes_only_what_needs_it() {
        let text = render(Format::Dotenv, &vars());
        assert!(text.contains("AWS_ACCESS_KEY_ID=ASIAEXAMPLE\n"), "{text}");
        assert!(
            text.contains("AWS_SECRET_ACCESS_KEY=\"a/b+c'd\"\n"),
            "{text}"
        );
        assert!(!text.contains("AWS_PROFILE"));
    }

    #[test]
    fn json_is_the_credential_process_document() {
        let doc: serde_json::Value = serde_json::from_str(&render(Format::Json, &vars())).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({
                "Version": 1,
                "AccessKeyId": "ASIAEXAMPLE",
                "SecretAccessKey": "a/b+c'd",
                "SessionToken": "tok=",
                "Expiration": "2026-01-01T00:00:00Z",
            })
        );
    }
}
