//! The control protocol between the agent and its clients: one JSON request
//! per line and one JSON response per line over a Unix socket only root may
//! use (mode 0600 in a 0700 directory, the peer's uid checked on every
//! connection). The agent serves it (`agent::socket`); `alexa status`, `top`,
//! `mic`, `model load` and `policy set` are its clients ([`client`]).

pub mod client;
pub mod status;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use client::{call, call_within, fetch_status, parse_response, request, request_within};
pub use status::Status;

pub const DEFAULT_SOCKET: &str = "/run/alexa/control.sock";

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
    pub fn error(e: impl std::fmt::Display) -> Self {
        Response {
            ok: false,
            error: Some(e.to_string()),
            ..Default::default()
        }
    }
    pub fn message(m: String) -> Self {
        Response {
            ok: true,
            message: Some(m),
            ..Default::default()
        }
    }
}
