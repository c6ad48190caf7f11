//! DejaVu Sans, embedded (assets/DejaVuSans.ttf, its licence beside it), as
//! plotters' "sans-serif": every figure draws its text with it, and no
//! system font is needed.

use std::sync::Once;

use plotters::style::{register_font, FontStyle};

static FONT: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");

/// Registers the font (once; later calls do nothing).
pub fn register() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // A font compiled in cannot fail to parse unless the file is not a
        // font at all, which the figure tests would show at once.
        let _ = register_font("sans-serif", FontStyle::Normal, FONT);
        let _ = register_font("sans-serif", FontStyle::Bold, FONT);
    });
}
