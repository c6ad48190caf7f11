//! The client side of the control socket: one request, one reply, bounded
//! in size and time, and every failure told in one line.

use std::{
    io::{BufRead, BufReader, Write},
    os::unix::net::UnixStream,
    path::Path,
    time::Duration,
};

use anyhow::{anyhow, bail, Result};

use super::{Request, Response, Status};

/// A response line is a few kilobytes; anything far larger is not an agent.
const MAX_RESPONSE: u64 = 4 << 20;
/// How long a command waits for the agent (a model load included).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Parses one response line.
pub fn parse_response(line: &str) -> Result<Response> {
    serde_json::from_str(line.trim_end()).map_err(|e| anyhow!("the agent's reply is not JSON: {e}"))
}

/// Sends one request and returns the agent's response, or a one-line error
/// telling why the agent could not be reached or answered badly.
pub fn request(socket: &Path, req: &Request) -> Result<Response> {
    request_within(socket, req, CLIENT_TIMEOUT)
}

pub fn request_within(socket: &Path, req: &Request, timeout: Duration) -> Result<Response> {
    use std::io::Read as _;
    let unreachable = |e: &dyn std::fmt::Display| {
        anyhow!(
            "cannot reach the agent at {}: {e} (is `alexa run` running? are you root?)",
            socket.display()
        )
    };
    let stream = UnixStream::connect(socket).map_err(|e| unreachable(&e))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| unreachable(&e))?;
    let mut line = serde_json::to_vec(req)?;
    line.push(b'\n');
    (&stream).write_all(&line).map_err(|e| unreachable(&e))?;
    let mut answer = String::new();
    BufReader::new((&stream).take(MAX_RESPONSE))
        .read_line(&mut answer)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                unreachable(&format_args!("no reply within {} s", timeout.as_secs()))
            }
            _ => unreachable(&e),
        })?;
    if answer.is_empty() {
        return Err(unreachable(&"it closed the connection without a reply"));
    }
    if !answer.ends_with('\n') {
        return Err(unreachable(&"its reply was cut short"));
    }
    parse_response(&answer).map_err(|e| anyhow!("agent at {}: {e}", socket.display()))
}

/// [`request`], with an error response turned into an error.
pub fn call(socket: &Path, req: &Request) -> Result<Response> {
    call_within(socket, req, CLIENT_TIMEOUT)
}

pub fn call_within(socket: &Path, req: &Request, timeout: Duration) -> Result<Response> {
    let r = request_within(socket, req, timeout)?;
    if !r.ok {
        bail!(
            "the agent refused: {}",
            r.error.unwrap_or_else(|| "no reason given".into())
        );
    }
    Ok(r)
}

/// How long a status client waits for the agent, so a wedged agent cannot
/// hang `alexa top` or `alexa status`.
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(2);

/// Asks the agent listening on `socket` for its status.
pub fn fetch_status(socket: &Path) -> Result<Status> {
    let r = call_within(socket, &Request::Status, STATUS_TIMEOUT)?;
    r.status.map(|s| *s).ok_or_else(|| {
        anyhow!(
            "the agent at {} replied ok without a status",
            socket.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{
        status::{ClassCount, RecentVerdict},
        Request, Response,
    };
    use anyhow::{anyhow, Result};
    use std::time::Duration;
    use std::{io::BufReader, os::unix::net::UnixListener};

    fn ok_line(s: Status) -> String {
        let mut line = serde_json::to_string(&Response {
            ok: true,
            status: Some(Box::new(s)),
            ..Default::default()
        })
        .unwrap();
        line.push('\n');
        line
    }

    fn parse_reply(line: &str) -> Result<Status> {
        let r = parse_response(line)?;
        if !r.ok {
            anyhow::bail!("the agent refused: {}", r.error.unwrap_or_default());
        }
        r.status.map(|s| *s).ok_or_else(|| anyhow!("no status"))
    }

    fn sample() -> Status {
        Status {
            iface: "eth1".into(),
            xdp_mode: "driver".into(),
            mode: "enforce".into(),
            model_version: Some("1a2b3c4d".into()),
            model_path: Some("/usr/local/share/alexa/models/echo.json".into()),
            microphone: false,
            devices: vec!["192.168.1.50".into()],
            uptime_s: 12.5,
            pid: 4242,
            classes: vec![ClassCount {
                class: "syn".into(),
                packets: 3,
                bytes: 222,
                passed: 3,
                ..Default::default()
            }],
            policy: [("not_justified".to_owned(), "drop".to_owned())].into(),
            counters: [("frames".to_owned(), 10u64)].into(),
            events_received: 3,
            kernel_ns_per_packet: Some(87.5),
            recent: vec![RecentVerdict {
                ts: "2025-01-02T03:04:05Z".into(),
                class: "not_justified".into(),
                action: "drop".into(),
                src: "192.168.1.50".into(),
                dst: "52.94.233.12".into(),
                dstport: 443,
                length: 1400,
                quarantine: true,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn reply_round_trips_with_the_documented_field_names() {
        let line = ok_line(sample());
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["ok"], true);
        for key in [
            "iface",
            "xdp_mode",
            "mode",
            "model_version",
            "model_path",
            "microphone",
            "devices",
            "uptime_s",
            "pid",
            "classes",
            "policy",
            "counters",
            "events_received",
            "kernel_ns_per_packet",
            "recent",
        ] {
            assert!(v["status"].get(key).is_some(), "no {key} in {line}");
        }
        assert_eq!(v["status"]["recent"][0]["dstport"], 443);
        assert_eq!(v["status"]["classes"][0]["alerted"], 0);
        assert_eq!(parse_reply(&line).unwrap(), sample());
    }

    #[test]
    fn missing_fields_take_defaults() {
        let s = parse_reply(r#"{"ok":true,"status":{"iface":"gw0","future_field":1}}"#).unwrap();
        assert_eq!(s.iface, "gw0");
        assert_eq!(s.kernel_ns_per_packet, None);
        assert!(s.classes.is_empty());
    }

    #[test]
    fn refusals_and_garbage_are_errors() {
        let e = parse_reply(r#"{"ok":false,"error":"unknown command"}"#).unwrap_err();
        assert_eq!(e.to_string(), "the agent refused: unknown command");
        let e = parse_reply("hello").unwrap_err();
        assert!(
            e.to_string().starts_with("the agent's reply is not JSON"),
            "{e}"
        );
        assert!(parse_reply(r#"{"ok":true}"#).is_err());
    }

    fn temp_socket(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("alexa-status-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("control.sock")
    }

    #[test]
    fn fetches_from_a_socket() {
        let path = temp_socket("ok");
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut line = String::new();
            BufReader::new(&conn).read_line(&mut line).unwrap();
            conn.write_all(ok_line(sample()).as_bytes()).unwrap();
            line
        });
        assert_eq!(fetch_status(&path).unwrap(), sample());
        let sent: Request = serde_json::from_str(&server.join().unwrap()).unwrap();
        assert_eq!(sent, Request::Status);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn unreachable_agent_is_one_clear_line() {
        let path = temp_socket("absent");
        let e = format!("{:#}", fetch_status(&path).unwrap_err());
        assert!(!e.contains('\n'), "{e}");
        assert!(
            e.starts_with(&format!("cannot reach the agent at {}: ", path.display())),
            "{e}"
        );
        assert!(
            e.ends_with("(is `alexa run` running? are you root?)"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn silent_agent_times_out() {
        let path = temp_socket("silent");
        let listener = UnixListener::bind(&path).unwrap();
        let hold = std::thread::spawn(move || {
            let (conn, _) = listener.accept().unwrap();
            std::thread::sleep(STATUS_TIMEOUT + Duration::from_millis(500));
            drop(conn);
        });
        let start = std::time::Instant::now();
        let e = format!("{:#}", fetch_status(&path).unwrap_err());
        assert!(start.elapsed() < STATUS_TIMEOUT + Duration::from_millis(400));
        assert!(e.contains("no reply within 2 s"), "{e}");
        hold.join().unwrap();
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn agent_closing_early_is_reported() {
        let path = temp_socket("closed");
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut line = String::new();
            BufReader::new(&conn).read_line(&mut line).unwrap();
            conn.write_all(b"{\"ok\":true,").unwrap();
        });
        let e = format!("{:#}", fetch_status(&path).unwrap_err());
        assert!(e.contains("its reply was cut short"), "{e}");
        server.join().unwrap();
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
