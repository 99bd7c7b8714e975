//! The `mcstat` command line (being written).

fn main() {
    eprintln!("mcstat: the command line is being written");
    std::process::exit(2);
}
