//! `sotto loadgen`: concurrent simulated live calls on loopback (issue 4, item 7). The load and
//! its checks live in `sotto_ingest::loadgen`; this prints the report.

use anyhow::{anyhow, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct LoadgenArgs {
    /// Protocol the simulated calls speak: native, twilio or audiosocket
    #[arg(long, default_value = "native")]
    pub protocol: String,
    /// Concurrent two-track calls
    #[arg(long, default_value_t = 100)]
    pub calls: usize,
    /// Seconds to hold the full load (measured once every call is established)
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Seconds over which calls are started
    #[arg(long, default_value_t = 20)]
    pub ramp: u64,
    /// Directory for the throw-away data directory (default: the system temp dir)
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Keep the data directory afterwards
    #[arg(long)]
    pub keep: bool,
    /// Check at most this many stored calls for silence over the card intervals (0: all)
    #[arg(long, default_value_t = 0)]
    pub verify_max: usize,
    /// Archive format of the stored recordings: lossless, opus or opus:<kbit/s>
    #[arg(long, default_value = "lossless")]
    pub archive: String,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: LoadgenArgs) -> Result<ExitCode> {
    let protocol = args.protocol.parse().map_err(|e: String| anyhow!(e))?;
    let opts = sotto_ingest::loadgen::LoadOptions {
        protocol,
        calls: args.calls,
        seconds: args.seconds,
        ramp_seconds: args.ramp,
        work_dir: args.work_dir.unwrap_or_else(std::env::temp_dir),
        keep: args.keep,
        verify_max: args.verify_max,
        archive: args
            .archive
            .parse()
            .map_err(|e: sotto_audio::AudioError| anyhow!("--archive: {e}"))?,
    };
    let r = sotto_ingest::loadgen::run(opts)
        .await
        .map_err(|e| anyhow!(e))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "protocol              {} (archive {})",
            r.protocol, r.archive
        );
        println!(
            "calls sustained       {} of {} for {} s",
            r.calls_sustained, r.calls_requested, r.seconds
        );
        match r.setup_seconds {
            Some(s) => println!(
                "calls established     all {} after {s:.1} s",
                r.calls_established
            ),
            None => println!(
                "calls established     {} of {} (not all within ramp + 60 s)",
                r.calls_established, r.calls_requested
            ),
        }
        println!("frames sent           {}", r.frames_sent);
        println!(
            "frames dropped        window: {} (client, >1 s late) + {} (server); whole run: {} + {}",
            r.frames_dropped_client_window,
            r.frames_dropped_server_window,
            r.frames_dropped_client,
            r.frames_dropped_server
        );
        println!(
            "frame latency         p50 {} ms, p99 {} ms, max {} ms",
            r.latency_p50_ms, r.latency_p99_ms, r.latency_max_ms
        );
        println!(
            "CPU                   window {:.0} %, whole run {:.0} % of one core (load generator included)",
            r.cpu_percent_window, r.cpu_percent
        );
        println!(
            "RSS                   peak {:.0} MiB, end {:.0} MiB",
            r.rss_peak_mib, r.rss_end_mib
        );
        println!(
            "sessions / delay line {:.0} MiB / {:.0} MiB",
            r.session_mib, r.delay_line_mib
        );
        println!(
            "calls committed       {} ({} failed)",
            r.calls_committed, r.calls_failed
        );
        println!(
            "card intervals        {} checked in {} recordings, {} not silent",
            r.card_intervals_checked, r.recordings_checked, r.card_intervals_not_silent
        );
        println!("closed                {}", r.closes);
    }
    Ok(if r.card_intervals_not_silent == 0 && r.calls_failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
