//! A small STS stand-in on loopback for what moto cannot do: refuse an MFA code, throttle,
//! fail. It answers each request with the next scripted reply (the last one repeats) and
//! keeps every request's target and form parameters. Its target shows whether a request
//! came through it as a proxy (`http://host:port/`) or straight (`/`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

pub struct Reply {
    status: u16,
    body: String,
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply {
        status,
        body: format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
             <Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>"
        ),
    }
}

pub fn refuse_code() -> Reply {
    error(
        403,
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
    )
}

pub fn throttle() -> Reply {
    error(400, "Throttling", "Rate exceeded")
}

pub fn unavailable() -> Reply {
    error(503, "ServiceUnavailable", "Service is unavailable")
}

pub fn expired_token() -> Reply {
    error(
        403,
        "ExpiredToken",
        "The security token included in the request is expired",
    )
}

/// Any other answer, e.g. the ECS container endpoint's credentials document.
pub fn raw(status: u16, body: &str) -> Reply {
    Reply {
        status,
        body: body.to_string(),
    }
}

/// A successful AssumeRole answer for a session lasting an hour.
pub fn session() -> Reply {
    let expiry = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    let secs = expiry
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Reply {
        status: 200,
        body: format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <AssumeRoleResult><Credentials><AccessKeyId>ASIASTANDIN0000EXAMPLE</AccessKeyId>\
             <SecretAccessKey>standinSecretstandinSecret</SecretAccessKey>\
             <SessionToken>standinTokenstandinToken</SessionToken>\
             <Expiration>{}</Expiration></Credentials>\
             <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/packer-build/alice-build</Arn>\
             <AssumedRoleId>AROASTANDIN:alice-build</AssumedRoleId></AssumedRoleUser>\
             </AssumeRoleResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata>\
             </AssumeRoleResponse>",
            iso(secs)
        ),
    }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
fn iso(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub struct StandIn {
    port: u16,
    requests: Arc<Mutex<Vec<BTreeMap<String, String>>>>,
    targets: Arc<Mutex<Vec<String>>>,
}

impl StandIn {
    pub fn start(replies: Vec<Reply>) -> StandIn {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen_targets = Arc::clone(&targets);
        std::thread::spawn(move || {
            let mut replies = replies.into_iter().peekable();
            let mut last: Option<Reply> = None;
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                if let Some(target) = request_line.split(' ').nth(1) {
                    seen_targets.lock().unwrap().push(target.to_string());
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                seen.lock().unwrap().push(
                    form_urlencoded::parse(&body)
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect(),
                );
                if let Some(next) = replies.next() {
                    last = Some(next);
                }
                let reply = last.as_ref().unwrap();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{}",
                    reply.status,
                    reply.body.len(),
                    reply.body
                );
            }
        });
        StandIn {
            port,
            requests,
            targets,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The request target of every request so far.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }

    /// The form parameters of every request so far.
    pub fn requests(&self) -> Vec<BTreeMap<String, String>> {
        self.requests.lock().unwrap().clone()
    }
}
