//! `cargo run --release -p sotto-audit --example audit_bench -- [entries]`: the numbers
//! `sotto bench audit` prints.

#[tokio::main]
async fn main() -> Result<(), sotto_audit::AuditError> {
    let n = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000u64);
    let report = sotto_audit::bench(n).await?;
    println!("{report}");
    Ok(())
}
