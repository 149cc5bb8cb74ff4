//! How the credential engine reaches AWS: over TLS only to a server the system's roots vouch
//! for (moto serving HTTPS with a certificate trusted through SSL_CERT_FILE), through the
//! proxy the environment names (a small CONNECT proxy here), straight to a host NO_PROXY
//! names, and to the ECS container endpoint for source credentials (a GET, not a POST).

#[path = "../src/moto.rs"]
#[allow(dead_code)]
mod moto;
mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::standin::{self, StandIn};
use support::*;

#[test]
fn a_host_in_no_proxy_is_reached_without_the_proxy() {
    let sts = StandIn::start(vec![standin::session()]);
    let dead_proxy = format!("http://127.0.0.1:{}", moto::free_port().unwrap());
    let home = Home::new("");

    let mut cmd = home.xtask(&sts.endpoint(), &["creds", "--profile", "plain"]);
    cmd.env("HTTP_PROXY", &dead_proxy);
    let (out, _, stderr) = run(cmd);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("cannot reach STS at {}", sts.endpoint())),
        "{stderr}"
    );

    let mut cmd = home.xtask(&sts.endpoint(), &["creds", "--profile", "plain"]);
    cmd.env("HTTP_PROXY", &dead_proxy)
        .env("NO_PROXY", "localhost,127.0.0.1");
    let (out, stdout, stderr) = run(cmd);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("ASIASTANDIN0000EXAMPLE"), "{stdout}");
    assert_eq!(sts.targets(), ["/"]);
}

/// moto serving HTTPS on 127.0.0.1 with `cert`; stopped when dropped.
struct TlsMoto {
    child: Child,
    port: u16,
}

impl TlsMoto {
    fn start(cert: &Path, key: &Path) -> TlsMoto {
        let port = moto::free_port().unwrap();
        let recording = cert.with_file_name("moto-recording");
        let child = Command::new(python())
            .env("MOTO_RECORDER_FILEPATH", recording)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .arg("-c")
            .arg(cert)
            .arg("-k")
            .arg(key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut moto = TlsMoto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(moto.child.try_wait().unwrap().is_none(), "moto exited");
            assert!(Instant::now() < deadline, "moto did not listen within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }
}

impl Drop for TlsMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A self-signed certificate for 127.0.0.1 (and its key), made with the openssl CLI.
fn certificate(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec"])
        .args([
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
        ])
        .args(["-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "openssl req failed");
    (cert, key)
}

#[test]
fn sts_over_https_is_used_only_when_the_roots_trust_its_certificate() {
    let home = Home::new("");
    let (cert, key) = certificate(home.path());
    let moto = TlsMoto::start(&cert, &key);
    let endpoint = format!("https://127.0.0.1:{}", moto.port);

    // The system's roots do not hold this certificate.
    let (out, stdout, stderr) = run(home.xtask(&endpoint, &["creds", "--profile", "plain"]));
    assert!(!out.status.success());
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot reach STS at {endpoint}")),
        "{stderr}"
    );
    assert!(home.cache_files().is_empty());

    let mut cmd = home.xtask(&endpoint, &["creds", "--profile", "plain"]);
    cmd.env("SSL_CERT_FILE", &cert);
    let (out, stdout, stderr) = run(cmd);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("AWS_SESSION_TOKEN"), "{stdout}");
    assert_eq!(home.cache_files().len(), 1);
}

/// A forward proxy that only tunnels (`CONNECT host:port`), as HTTPS through a proxy goes;
/// it keeps every target it was asked for.
struct Tunnel {
    port: u16,
    targets: Arc<Mutex<Vec<String>>>,
}

impl Tunnel {
    fn start() -> Tunnel {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&targets);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || tunnel(client, &seen));
            }
        });
        Tunnel { port, targets }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

fn tunnel(mut client: TcpStream, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        head.push(line);
    }
    let target = match head.first().map(|l| l.split(' ').collect::<Vec<_>>()) {
        Some(parts) if parts.len() == 3 && parts[0] == "CONNECT" => parts[1].to_string(),
        _ => {
            let _ = client.write_all(b"HTTP/1.1 405 Only CONNECT\r\nContent-Length: 0\r\n\r\n");
            return;
        }
    };
    seen.lock().unwrap().push(target.clone());
    let Ok(server) = TcpStream::connect(&target) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .unwrap();
    let (mut from_server, mut to_client) = (server.try_clone().unwrap(), client);
    let mut to_server = server;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_server, &mut to_client);
        let _ = to_client.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut reader, &mut to_server);
    let _ = to_server.shutdown(std::net::Shutdown::Write);
}

#[test]
fn sts_over_https_is_reached_through_the_proxy_the_environment_names() {
    let home = Home::new("");
    let (cert, key) = certificate(home.path());
    let moto = TlsMoto::start(&cert, &key);
    let proxy = Tunnel::start();
    let endpoint = format!("https://127.0.0.1:{}", moto.port);
    let mut cmd = home.xtask(&endpoint, &["creds", "--profile", "plain"]);
    cmd.env("SSL_CERT_FILE", &cert)
        .env("HTTPS_PROXY", proxy.url());
    let (out, stdout, stderr) = run(cmd);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("AWS_SESSION_TOKEN"), "{stdout}");
    assert_eq!(proxy.targets(), [format!("127.0.0.1:{}", moto.port)]);
}

#[test]
fn credential_source_ecs_container_fetches_the_source_keys_from_the_container_endpoint() {
    let container = StandIn::start(vec![standin::raw(
        200,
        &format!(
            "{{\"AccessKeyId\": \"AKIACONTAINERKEY0001\", \"SecretAccessKey\": \"{BASE_SECRET}\", \
             \"Token\": \"containerToken\", \"Expiration\": \"2099-01-01T00:00:00Z\"}}"
        ),
    )]);
    let moto = moto::Moto::start(&python()).unwrap();
    start_recording(&moto);
    let home = Home::new(&format!(
        "[profile task]\nrole_arn = {ROLE}\ncredential_source = EcsContainer\n\
         region = eu-west-1\n"
    ));
    let mut cmd = home.xtask(&moto.endpoint(), &["creds", "--profile", "task"]);
    cmd.env(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}/v2/credentials", container.endpoint()),
    );
    let (out, stdout, stderr) = run(cmd);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("AWS_SESSION_TOKEN"), "{stdout}");
    assert_eq!(container.targets(), ["/v2/credentials"]);
    let recording = moto.recording().unwrap();
    assert_eq!(assume_role_calls(&recording), 1);
    // The call was signed with the container's key.
    assert!(recording.contains("AKIACONTAINERKEY0001"), "{recording}");
}
