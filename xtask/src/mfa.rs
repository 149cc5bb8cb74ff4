//! Where the MFA code comes from: `--mfa-token`, the profile's `mfa_process`, or a prompt
//! on the controlling terminal (`/dev/tty`, so it works while stdout is piped to `eval`).

use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::secret::Secret;

/// Where this run gets its codes from.
pub(crate) enum CodeSource {
    Given(Secret),
    Process(String),
    Prompt,
}

impl CodeSource {
    /// Only a prompt can ask again after STS refused a code.
    pub(crate) fn can_ask_again(&self) -> bool {
        matches!(self, CodeSource::Prompt)
    }

    /// The next code, checked to be six digits.
    pub(crate) fn code(&self, serial: &str) -> anyhow::Result<Secret> {
        match self {
            CodeSource::Given(code) => {
                check(code.expose()).context("--mfa-token")?;
                Ok(code.clone())
            }
            CodeSource::Process(command) => {
                let code = run_process(command)?;
                check(code.expose()).context("the output of mfa_process")?;
                Ok(code)
            }
            CodeSource::Prompt => prompt(serial),
        }
    }
}

/// Six ASCII digits, as every MFA device gives them.
pub(crate) fn check(code: &str) -> anyhow::Result<()> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        bail!("an MFA code is six digits, and this one is not")
    }
}

/// Runs `mfa_process` through `sh -c` (as aws-vault and `credential_process` do): its
/// first line of output is the code; its stderr goes to ours, so it may talk to the user.
fn run_process(command: &str) -> anyhow::Result<Secret> {
    let output = Command::new("sh")
        .args(["-c", command])
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .output()
        .context("run the profile's mfa_process")?;
    if !output.status.success() {
        bail!(
            "the profile's mfa_process failed ({}); fix it or pass --mfa-token",
            output.status
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(Secret::new(text.lines().next().unwrap_or("").trim()))
}

/// Asks on the controlling terminal until the answer is six digits (three times at most).
fn prompt(serial: &str) -> anyhow::Result<Secret> {
    // Opening /dev/tty fails at once without a controlling terminal: never wait for input
    // that cannot come.
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_err()
    {
        bail!(
            "no terminal to ask for the MFA code for {serial}; pass --mfa-token CODE \
             (or set mfa_process in the profile)"
        );
    }
    for _ in 0..3 {
        let answer = rpassword::prompt_password(format!("Enter MFA code for {serial}: "))
            .context("read the MFA code from the terminal")?;
        let code = Secret::new(answer.trim());
        match check(code.expose()) {
            Ok(()) => return Ok(code),
            Err(err) => tell(&format!("{err}; try again")),
        }
    }
    bail!("no six-digit MFA code after three tries; pass --mfa-token CODE")
}

/// A line for the person at the terminal (not stdout, which may be going to `eval`).
pub(crate) fn tell(line: &str) {
    use std::io::Write;
    match std::fs::OpenOptions::new().write(true).open("/dev/tty") {
        Ok(mut tty) => {
            let _ = writeln!(tty, "{line}");
        }
        Err(_) => eprintln!("{line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_six_digits_make_a_code() {
        assert!(check("123456").is_ok());
        for bad in ["12345", "1234567", "12345a", "", "１２３４５６"] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_error_about_a_code_does_not_repeat_it() {
        let err = check("98765x").unwrap_err().to_string();
        assert!(!err.contains("98765"), "{err}");
    }
}
