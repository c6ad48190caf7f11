//! Rebuild the object when the linker changes (a new bpf-linker can change codegen).
fn main() {
    if let Ok(linker) = which::which("bpf-linker") {
        println!("cargo:rerun-if-changed={}", linker.display());
    }
}
