//! `alexa`: the smart-speaker privacy firewall's agent and offline tools.

fn main() -> std::process::ExitCode {
    alexa::cli::main()
}
