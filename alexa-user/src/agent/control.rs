//! The control socket: a Unix socket only root may use (mode 0600 in a 0700
//! directory, and the peer's uid checked on every connection), carrying one
//! JSON request per line and one JSON response per line.

use std::{
    io::{BufRead, BufReader, Write},
    os::unix::{fs::PermissionsExt, net::UnixStream},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::{anyhow, bail, Context as _, Result};
use serde::{Deserialize, Serialize};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt},
    net::UnixListener,
};

use super::Agent;
use crate::status::Status;

pub const DEFAULT_SOCKET: &str = "/run/alexa/control.sock";
/// Longest request line accepted.
const MAX_REQUEST: usize = 64 * 1024;
/// A client has this long to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Status,
    Mic {
        on: bool,
    },
    /// An absolute path: the agent may run in another directory.
    ModelLoad {
        path: PathBuf,
    },
    PolicySet {
        rules: Vec<String>,
    },
}

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Box<Status>>,
}

impl Response {
    fn error(e: impl std::fmt::Display) -> Self {
        Response {
            ok: false,
            error: Some(e.to_string()),
            ..Default::default()
        }
    }
    fn message(m: String) -> Self {
        Response {
            ok: true,
            message: Some(m),
            ..Default::default()
        }
    }
}

/// Binds the socket; refuses to take over one a live agent answers on.
pub fn bind(path: &Path) -> Result<UnixListener> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            bail!(
                "{}: another agent is running and answering there",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("{}: cannot remove the stale socket", path.display()))?;
    }
    // The socket is created with the umask's mode: make it 0600 from birth.
    // SAFETY: umask has no preconditions; restored right after the bind.
    let old = unsafe { libc::umask(0o177) };
    let listener = UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener = listener.with_context(|| format!("{}: cannot bind", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

pub async fn serve(listener: UnixListener, agent: Arc<Agent>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let agent = agent.clone();
        tokio::spawn(async move {
            let _ = handle(stream, agent).await;
        });
    }
}

async fn handle(stream: tokio::net::UnixStream, agent: Arc<Agent>) -> Result<()> {
    let uid = stream.peer_cred().map(|c| c.uid()).unwrap_or(u32::MAX);
    let (read, mut write) = stream.into_split();
    // The request is read (bounded in size and time) even from a client
    // about to be refused, so it gets the answer instead of a broken pipe.
    let mut line = Vec::new();
    let mut reader = tokio::io::BufReader::new(read).take(MAX_REQUEST as u64 + 1);
    let read = tokio::time::timeout(REQUEST_TIMEOUT, reader.read_until(b'\n', &mut line)).await;
    let response = if uid != 0 {
        agent.note(format!("control: refused a client with uid {uid}"));
        Response::error(format!(
            "permission denied: the control socket is root-only (your uid is {uid})"
        ))
    } else {
        match read {
            Err(_) => Response::error("request timed out"),
            Ok(Err(e)) => Response::error(format!("cannot read the request: {e}")),
            Ok(Ok(_)) if line.len() > MAX_REQUEST => {
                Response::error(format!("request longer than {MAX_REQUEST} bytes"))
            }
            Ok(Ok(_)) => match serde_json::from_slice::<Request>(&line) {
                Err(e) => Response::error(format!("bad request: {e}")),
                Ok(req) => execute(&agent, req),
            },
        }
    };
    let mut out = serde_json::to_vec(&response)?;
    out.push(b'\n');
    write.write_all(&out).await?;
    Ok(())
}

fn execute(agent: &Agent, req: Request) -> Response {
    let result = match req {
        Request::Status => {
            return match agent.status() {
                Ok(s) => Response {
                    ok: true,
                    status: Some(Box::new(s)),
                    ..Default::default()
                },
                Err(e) => Response::error(format!("{e:#}")),
            }
        }
        Request::Mic { on } => agent
            .set_microphone(on)
            .map(|()| format!("microphone {}", if on { "on" } else { "off (muted)" })),
        Request::ModelLoad { path } => agent
            .load_model(&path)
            .map(|v| format!("model {} loaded (version {v})", path.display())),
        Request::PolicySet { rules } => agent.set_policy(&rules).map(|p| format!("policy: {p}")),
    };
    match result {
        Ok(m) => Response::message(m),
        Err(e) => Response::error(format!("{e:#}")),
    }
}

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
