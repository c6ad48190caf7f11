//! `alexa run` and the commands that talk to a running agent or its pins.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::{
    agent::{self, args::RunArgs, config},
    client,
    control::{self, Request},
    offline::model,
};

/// `alexa run`.
pub fn run(args: RunArgs) -> Result<()> {
    let opts = args.options()?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(agent::run(opts))
}

/// Refuses while an agent answers on the socket: it would go on reading an
/// orphaned ring buffer while nothing classifies.
pub fn detach(pin_dir: &Path, socket: &Path) -> Result<()> {
    agent::require_root("alexa detach")?;
    if let Ok(r) = control::request(socket, &Request::Status) {
        let pid = r.status.map(|s| s.pid).unwrap_or(0);
        anyhow::bail!(
            "an agent (pid {pid}) is running on {}: stop it first (systemctl stop alexa)",
            socket.display()
        );
    }
    let removed = crate::kernel::detach(pin_dir)?;
    if removed.is_empty() {
        println!("nothing pinned in {}", pin_dir.display());
    } else {
        println!(
            "detached: removed {} from {}",
            removed.join(", "),
            pin_dir.display()
        );
    }
    Ok(())
}

/// `alexa config check`: the file, then what it points to that can be
/// checked without starting (the model file, the interface).
pub fn config_check(path: &Path) -> Result<()> {
    let c = config::load(path)?;
    match &c.model {
        Some(config::ModelChoice::File(m)) => drop(model::file::load(m)?),
        None | Some(config::ModelChoice::Builtin) => drop(model::embedded::echo()?),
        Some(config::ModelChoice::Off) => {}
    }
    println!("{}: ok: {}", path.display(), config::describe(&c));
    if let Some(iface) = &c.interface {
        if agent::require_interface(iface).is_err() {
            eprintln!("alexa: note: interface {iface} does not exist on this machine (yet)");
        }
    }
    Ok(())
}

/// `alexa top`.
pub fn top(socket: &Path, interval_ms: u64) -> Result<()> {
    client::top::run(
        &client::top::TopOptions {
            interval: std::time::Duration::from_millis(interval_ms),
            source: socket.display().to_string(),
        },
        || control::fetch_status(socket),
    )
}

/// `alexa status`.
pub fn status(socket: &Path, json: bool) -> Result<()> {
    let status = control::fetch_status(socket)?;
    if json {
        println!("{}", serde_json::to_string(&status)?);
    } else {
        print!("{}", client::status::summary(&status));
        // Root reads the token file; anyone else is told where it is.
        if let Some(file) = &status.api_token_file {
            match std::fs::read_to_string(file) {
                    Ok(t) => println!(
                        "api token: {} (send \"Authorization: Bearer TOKEN\" to change state over HTTP)",
                        t.trim()
                    ),
                    Err(_) => println!("api token: in {file} (root only)"),
                }
        }
    }
    Ok(())
}

/// Where a running agent listens.
#[derive(clap::Args, Debug)]
pub struct SocketArg {
    /// The agent's control socket (root only).
    #[arg(long = "control-socket", value_name = "PATH", default_value = crate::control::DEFAULT_SOCKET, global = true)]
    pub path: PathBuf,
}

#[derive(clap::Subcommand, Debug)]
pub enum ModelCommand {
    /// Validate MODEL.json and swap it into the running classifier (the running model stays on any error).
    Load {
        /// The new model.
        file: PathBuf,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum PolicyCommand {
    /// Change per-class actions: CLASS=ACTION… (actions: pass, alert, drop).
    Set {
        /// A class (e.g. justified) and pass, alert or drop.
        #[arg(required = true, value_name = "CLASS=ACTION")]
        rules: Vec<String>,
    },
}

/// Sends `req` to the agent at `socket`, printing its answer.
pub fn send(socket: &std::path::Path, req: Request) -> Result<()> {
    let r = control::call(socket, &req)?;
    if let Some(m) = r.message {
        println!("{m}");
    }
    Ok(())
}

/// `alexa model load FILE`: the path the agent reads must not depend on its
/// working directory; the file is validated here too, for a quick error.
pub fn model_load(socket: &std::path::Path, file: PathBuf) -> Result<()> {
    model::file::load(&file)?;
    let path = std::fs::canonicalize(&file)
        .with_context(|| format!("{}: cannot resolve", file.display()))?;
    send(socket, Request::ModelLoad { path })
}
