//! The agent's end of the control socket (`crate::control`): binds it
//! root-only, reads one bounded request per connection and executes it.

use std::{
    os::unix::{fs::PermissionsExt, net::UnixStream},
    path::Path,
    sync::Arc,
    time::Duration,
};

use anyhow::{bail, Context as _, Result};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt},
    net::UnixListener,
};

use super::Agent;
use crate::control::{Request, Response};

/// Longest request line accepted.
const MAX_REQUEST: usize = 64 * 1024;
/// A client has this long to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

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
