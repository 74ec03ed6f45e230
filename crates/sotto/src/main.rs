//! The `sotto` command line. Parses arguments, calls the library crates, prints results.
//! Holds no logic of its own beyond that.

fn main() {
    println!("sotto");
}
