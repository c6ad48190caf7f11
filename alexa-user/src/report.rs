//! `alexa report`: the paper's figures.

use std::path::Path;

use anyhow::Result;

use crate::prepare::PrepareOptions;

pub fn report(_dataset: &Path, _out: &Path, _opts: &PrepareOptions) -> Result<()> {
    anyhow::bail!("not yet")
}
