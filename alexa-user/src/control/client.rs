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
