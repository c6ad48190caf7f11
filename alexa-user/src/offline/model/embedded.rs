//! The shipped model, `models/echo.json`, compiled into the binary: a
//! gateway that got only the `alexa` file still has a model to enforce.

use anyhow::{Context as _, Result};

use super::file::{from_slice, Model};

/// Where the embedded model comes from, for messages and `status`.
pub const ECHO_NAME: &str = "models/echo.json (embedded)";

/// The bytes of `models/echo.json` as they were when this binary was built.
pub const ECHO_JSON: &str = include_str!("../../../../models/echo.json");

/// The embedded model, validated as `model::file::load` validates a file.
pub fn echo() -> Result<Model> {
    from_slice(ECHO_JSON.as_bytes()).with_context(|| format!("{ECHO_NAME}: invalid"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn embedded_model_is_the_shipped_file() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/echo.json");
        let on_disk = std::fs::read_to_string(&path).unwrap();
        assert!(
            ECHO_JSON == on_disk,
            "{} changed since this binary was built",
            path.display()
        );
        let embedded = echo().unwrap();
        let loaded = crate::offline::model::file::load(&path).unwrap();
        assert_eq!(embedded.file, loaded.file);
        assert_eq!(embedded.features, loaded.features);
        assert_eq!(embedded.version_id(), loaded.version_id());
        assert!(embedded.nodes.len() > 1, "{} nodes", embedded.nodes.len());
    }
}
