fn main() -> std::process::ExitCode {
    gateproof::cli::main()
}
