//! A moto server on a free loopback port: the local stand-in for AWS (STS, EC2, SSM).
//!
//! `cargo xtask build --local` uses it, and so do the integration tests
//! (`#[path = "../src/moto.rs"]`), so both talk to AWS the same way.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A running moto server; dropped, it is killed and reaped.
pub struct Moto {
    child: Child,
    port: u16,
    recording: std::path::PathBuf,
}

impl Moto {
    /// Starts `python -m moto.server` on a free port of 127.0.0.1 and waits until it answers.
    pub fn start(python: &Path) -> anyhow::Result<Moto> {
        let port = free_port()?;
        // moto's recorder writes to one file, by default in the working directory: every
        // server needs its own, or parallel servers read each other's requests.
        let recording =
            std::env::temp_dir().join(format!("moto-recording-{}-{port}", std::process::id()));
        let child = Command::new(python)
            .env("MOTO_RECORDER_FILEPATH", &recording)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            // Its own process group: a Ctrl-C at the terminal must not stop the local AWS
            // while packer is still cleaning up in it.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("start moto with {}", python.display()))?;
        let mut moto = Moto {
            child,
            port,
            recording,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = moto.child.try_wait() {
                bail!("moto server exited at start ({status}); is `moto[server]` installed?");
            }
            if moto.request("GET", "/moto-api/", None).is_ok() {
                return Ok(moto);
            }
            if Instant::now() > deadline {
                bail!("moto server did not answer on port {port} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one plain HTTP/1.1 request to moto and returns the response body.
    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> anyhow::Result<String> {
        self.request_with(method, path, &[("Content-Type", "application/json")], body)
    }

    /// Like [`Moto::request`], with the given headers.
    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> anyhow::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let body = body.unwrap_or("");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n",
            self.port
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        stream.write_all(request.as_bytes())?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let (head, body) = response
            .split_once("\r\n\r\n")
            .context("malformed HTTP response from moto")?;
        let status = head.split_whitespace().nth(1).unwrap_or("");
        if !status.starts_with('2') {
            bail!("moto answered {method} {path} with {status}");
        }
        Ok(body.to_string())
    }

    /// Sends an EC2 query API call (`Action=…&…`) and returns moto's XML answer.
    pub fn ec2(&self, query: &str) -> anyhow::Result<String> {
        self.query("ec2", &format!("{query}&Version=2016-11-15"))
    }

    /// Sends an STS query API call (`Action=…&…`) and returns moto's XML answer.
    pub fn sts(&self, query: &str) -> anyhow::Result<String> {
        self.query("sts", &format!("{query}&Version=2011-06-15"))
    }

    fn query(&self, service: &str, body: &str) -> anyhow::Result<String> {
        // moto routes by the credential scope and does not check the signature.
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, \
             SignedHeaders=host, Signature=0"
        );
        self.request_with(
            "POST",
            "/",
            &[
                ("Authorization", authorization.as_str()),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(body),
        )
    }

    /// The ids of the instances that are pending or running in us-east-1.
    pub fn live_instances(&self) -> anyhow::Result<Vec<String>> {
        let xml = self.ec2(
            "Action=DescribeInstances&Filter.1.Name=instance-state-name\
             &Filter.1.Value.1=pending&Filter.1.Value.2=running",
        )?;
        Ok(xml_values(&xml, "instanceId"))
    }

    /// Starts recording the requests moto receives.
    pub fn start_recording(&self) -> anyhow::Result<()> {
        self.request("POST", "/moto-api/recorder/start-recording", None)
            .map(drop)
    }

    /// The bodies of the recorded requests, decoded.
    pub fn recorded_bodies(&self) -> anyhow::Result<Vec<String>> {
        use base64::Engine as _;
        let mut bodies = Vec::new();
        for line in self.recording()?.lines().filter(|l| !l.trim().is_empty()) {
            let request: serde_json::Value =
                serde_json::from_str(line).context("read moto's recording")?;
            let body = request["body"].as_str().unwrap_or_default();
            if request["body_encoded"] == true {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .context("decode a body in moto's recording")?;
                bodies.push(String::from_utf8_lossy(&bytes).into_owned());
            } else {
                bodies.push(body.to_string());
            }
        }
        Ok(bodies)
    }

    /// The recorded requests so far, one JSON document a line.
    pub fn recording(&self) -> anyhow::Result<String> {
        self.request("GET", "/moto-api/recorder/download-recording", None)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.recording);
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).context("find a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Every text value of `<tag>…</tag>` in an XML document, in order.
pub fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|rest| {
            rest.split_once(close.as_str())
                .map(|(value, _)| value.to_string())
        })
        .collect()
}
