fn main() -> std::process::ExitCode {
    dockwright::main()
}
