fn main() {
    std::process::exit(stepwise::main());
}
