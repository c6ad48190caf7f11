//! What the demo was asked to do, and what each real-capture run gave.

use std::path::PathBuf;

use alexa_lab::session::{self, Outcome, Session, SessionConfig};

pub(super) struct Args {
    pub(super) alexa: PathBuf,
    pub(super) model: PathBuf,
    pub(super) out: PathBuf,
    pub(super) config: SessionConfig,
    /// A real Echo's capture (of the voice-command Echo, by its MAC) to
    /// replay after the simulated day, and the model to judge it with.
    pub(super) real: Option<(PathBuf, PathBuf)>,
}

/// One replay of the real capture through the gateway.
pub(super) struct RealRun {
    pub(super) microphone: bool,
    pub(super) session: Session,
    pub(super) run: session::Run,
    pub(super) outcome: Outcome,
    pub(super) dir: PathBuf,
}

/// What [`real_run`] started, and what it found unless interrupted.
pub(super) struct RealAttempt {
    pub(super) agent_pid: Option<u32>,
    pub(super) done: Option<RealRun>,
}
