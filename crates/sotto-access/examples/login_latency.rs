//! Login latency with Argon2id (release): `cargo run --release -p sotto-access --example
//! login_latency -- 50`. The same measurement as `sotto bench login`.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n = match std::env::args().nth(1) {
        Some(a) => a.parse()?,
        None => 50,
    };
    println!("{}", sotto_access::bench_login(n).await?);
    Ok(())
}
