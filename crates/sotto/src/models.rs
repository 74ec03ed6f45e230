//! `sotto models fetch NAME` and `sotto models list`: ggml Whisper models for the `whisper`
//! engine. A model is downloaded from its Hugging Face location (the files whisper.cpp's own
//! download script uses) into the models directory as `ggml-NAME.bin.part`, resumed with a
//! `Range` request when a part is already there, checked against its published SHA-1 and for a
//! well-formed ggml Whisper structure, and only then renamed to `ggml-NAME.bin` (atomic: a
//! half-downloaded model is never taken for a model). Needs internet; says so in one line
//! without it.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use sha1::{Digest, Sha1};
use sotto_transcribe::ggml_model;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Where the models are published (`{base}/ggml-{name}.bin`).
pub const DEFAULT_BASE_URL: &str = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main";

/// Models and their published SHA-1 (whisper.cpp `models/README.md`); `None`: published without
/// a checksum (downloaded only with `--no-verify` or `--sha1`).
pub const MODELS: &[(&str, Option<&str>, u32)] = &[
    ("tiny", Some("bd577a113a864445d4c299885e0cb97d4ba92b5f"), 75),
    (
        "tiny.en",
        Some("c78c86eb1a8faa21b369bcd33207cc90d64ae9df"),
        75,
    ),
    (
        "base",
        Some("465707469ff3a37a2b9b8d8f89f2f99de7299dac"),
        142,
    ),
    (
        "base.en",
        Some("137c40403d78fd54d454da0f9bd998f78703390c"),
        142,
    ),
    (
        "small",
        Some("55356645c2b361a969dfd0ef2c5a50d530afd8d5"),
        466,
    ),
    (
        "small.en",
        Some("db8a495a91d927739e50b3fc1cc4c6b8f6c2d022"),
        466,
    ),
    (
        "medium",
        Some("fd9727b6e1217c2f614f9b698455c4ffd82463b4"),
        1536,
    ),
    (
        "medium.en",
        Some("8c30f0e44ce9560643ebd10bbe50cd20eafd3723"),
        1536,
    ),
    (
        "large-v1",
        Some("b1caaf735c4cc1429223d5a74f0f4d0b9b59a299"),
        2970,
    ),
    (
        "large-v2",
        Some("0f4c8e34f21cf1a914c59d8b3ce882345ad349d6"),
        2970,
    ),
    (
        "large-v2-q5_0",
        Some("00e39f2196344e901b3a2bd5814807a769bd1630"),
        1126,
    ),
    (
        "large-v3",
        Some("ad82bf6a9043ceed055076d0fd39f5f186ff8062"),
        2970,
    ),
    (
        "large-v3-q5_0",
        Some("e6e2ed78495d403bef4b7cff42ef4aaadcfea8de"),
        1126,
    ),
    (
        "large-v3-turbo",
        Some("4af2b29d7ec73d781377bfd1758ca957a807e941"),
        1536,
    ),
    (
        "large-v3-turbo-q5_0",
        Some("e050f7970618a659205450ad97eb95a18d69c9ee"),
        547,
    ),
    ("tiny-q5_1", None, 31),
    ("tiny.en-q5_1", None, 31),
    ("tiny-q8_0", None, 42),
    ("base-q5_1", None, 57),
    ("base.en-q5_1", None, 57),
    ("base-q8_0", None, 78),
    ("small-q5_1", None, 181),
    ("small.en-q5_1", None, 181),
    ("small-q8_0", None, 252),
    ("medium-q5_0", None, 514),
    ("medium.en-q5_0", None, 514),
    ("medium-q8_0", None, 785),
    ("large-v2-q8_0", None, 1500),
    ("large-v3-turbo-q8_0", None, 834),
];

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Download a ggml Whisper model (tiny, base, small, medium, large-v3, .en and quantised
    /// variants) with checksum verification; needs internet
    Fetch {
        /// Model name, e.g. base, base.en, small, large-v3-turbo-q5_0
        name: String,
        /// Models directory [default: `[transcribe] models_dir`, else <data_dir>/models]
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Download a model that has no published checksum, unverified
        #[arg(long)]
        no_verify: bool,
        /// Expected SHA-1 (hex), for a model without a published one or a mirror's file
        #[arg(long)]
        sha1: Option<String>,
        /// Download from this base URL instead (a mirror inside your network)
        #[arg(long, env = "SOTTO_MODELS_URL")]
        url: Option<String>,
    },
    /// Show the models in the models directory (size, type, whether they load)
    List {
        /// Models directory [default: `[transcribe] models_dir`, else <data_dir>/models]
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also compute each file's SHA-1 and compare it with the published one
        #[arg(long)]
        verify: bool,
    },
}

pub async fn run(cmd: ModelsCommand, models_dir: PathBuf) -> Result<ExitCode> {
    match cmd {
        ModelsCommand::Fetch {
            name,
            dir,
            no_verify,
            sha1,
            url,
        } => {
            let dir = dir.unwrap_or(models_dir);
            let base = url.unwrap_or_else(|| DEFAULT_BASE_URL.into());
            let path = fetch(&name, &dir, &base, sha1.as_deref(), no_verify).await?;
            println!("{}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        ModelsCommand::List { dir, verify } => list(&dir.unwrap_or(models_dir), verify),
    }
}

fn published(name: &str) -> Option<(Option<&'static str>, u32)> {
    MODELS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, s, mib)| (*s, *mib))
}

fn valid_sha1(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Downloads `ggml-{name}.bin` into `dir` (see the module doc); returns its path.
pub async fn fetch(
    name: &str,
    dir: &Path,
    base_url: &str,
    sha1_flag: Option<&str>,
    no_verify: bool,
) -> Result<PathBuf> {
    let known = published(name);
    if known.is_none() && sha1_flag.is_none() && !no_verify {
        let names: Vec<&str> = MODELS.iter().map(|(n, _, _)| *n).collect();
        bail!(
            "unknown model `{name}` (known: {}); pass --sha1 or --no-verify for another file",
            names.join(", ")
        );
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        bail!("model name `{name}` may only contain letters, digits, '.', '-' and '_'");
    }
    let expected: Option<String> = match (sha1_flag, known.and_then(|(s, _)| s)) {
        (Some(s), _) if !valid_sha1(s) => bail!("--sha1 must be 40 hexadecimal digits"),
        (Some(s), _) => Some(s.to_ascii_lowercase()),
        (None, Some(s)) => Some(s.to_owned()),
        (None, None) if no_verify => None,
        (None, None) => bail!(
            "model `{name}` has no published checksum: pass --sha1 HEX, or --no-verify to download it unverified"
        ),
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the models directory {}", dir.display()))?;
    let dest = dir.join(format!("ggml-{name}.bin"));
    let part = dir.join(format!("ggml-{name}.bin.part"));
    if dest.is_file() {
        let ok = match &expected {
            Some(want) => &sha1_file(&dest)? == want,
            None => true,
        };
        if ok {
            eprintln!("{} is already there", dest.display());
            return Ok(dest);
        }
        bail!(
            "{} exists but its SHA-1 is not the published one; delete it to download again",
            dest.display()
        );
    }
    let url = format!("{}/ggml-{name}.bin", base_url.trim_end_matches('/'));
    let host = reqwest::Url::parse(&url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| base_url.to_owned());
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(Duration::from_secs(60))
        .build()
        .context("cannot set up the HTTP client")?;

    // Resume: hash what is already there and ask for the rest.
    let mut have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let mut req = client.get(&url);
    if have > 0 {
        req = req.header(reqwest::header::RANGE, format!("bytes={have}-"));
    }
    let mut resp = req.send().await.map_err(|e| unreachable_error(&host, &e))?;
    let status = resp.status();
    if status == reqwest::StatusCode::RANGE_NOT_SATISFIABLE {
        // The part is complete already (or larger than the file): start again.
        let _ = std::fs::remove_file(&part);
        have = 0;
        resp = client
            .get(&url)
            .send()
            .await
            .map_err(|e| unreachable_error(&host, &e))?;
    }
    let status = resp.status();
    let resumed = status == reqwest::StatusCode::PARTIAL_CONTENT && have > 0;
    if !status.is_success() {
        bail!("downloading {name} from {host}: HTTP {status}");
    }
    if !resumed {
        have = 0;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(!resumed)
        .open(&part)
        .with_context(|| format!("cannot write {}", part.display()))?;
    let mut hasher = Sha1::new();
    if resumed {
        hash_prefix(&mut file, have, &mut hasher)?;
        file.seek(std::io::SeekFrom::Start(have))?;
    }
    let total = resp.content_length().map(|n| n + have);
    let bar = match total {
        Some(t) => indicatif::ProgressBar::new(t),
        None => indicatif::ProgressBar::no_length(),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(format!(
        "ggml-{name}.bin{}",
        if resumed { " (resumed)" } else { "" }
    ));
    bar.set_position(have);
    let mut got = have;
    loop {
        let chunk = resp
            .chunk()
            .await
            .map_err(|e| anyhow::anyhow!("downloading {name} from {host} broke off after {got} bytes ({}); run the command again to resume", e.without_url()))?;
        let Some(chunk) = chunk else { break };
        file.write_all(&chunk)
            .with_context(|| format!("cannot write {}", part.display()))?;
        hasher.update(&chunk);
        got += chunk.len() as u64;
        bar.set_position(got);
    }
    bar.finish_and_clear();
    if let Some(t) = total {
        if got != t {
            bail!("downloading {name}: got {got} of {t} bytes; run the command again to resume");
        }
    }
    file.sync_all()?;
    drop(file);
    let sum = hex::encode(hasher.finalize());
    if let Some(want) = &expected {
        if &sum != want {
            let _ = std::fs::remove_file(&part);
            bail!("checksum mismatch for {name}: SHA-1 {sum}, expected {want} (the download was deleted)");
        }
    }
    let info = ggml_model::inspect(&part)
        .map_err(|e| anyhow::anyhow!("the downloaded file is not a usable Whisper model: {e}"))?;
    std::fs::rename(&part, &dest)
        .with_context(|| format!("cannot move the model to {}", dest.display()))?;
    eprintln!(
        "saved {} ({}, {:.0} MiB, SHA-1 {})",
        dest.display(),
        info.describe(),
        got as f64 / (1 << 20) as f64,
        if expected.is_some() {
            "verified"
        } else {
            "NOT verified"
        }
    );
    Ok(dest)
}

/// One line for a connection that never happened (no internet, DNS, firewall).
fn unreachable_error(host: &str, e: &reqwest::Error) -> anyhow::Error {
    let why = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    anyhow::anyhow!(
        "cannot download the model: {why} to {host} — this machine seems to have no internet access (download the file elsewhere and copy it into the models directory, or pass --url for a mirror)"
    )
}

fn hash_prefix(file: &mut std::fs::File, len: u64, hasher: &mut Sha1) -> Result<()> {
    file.seek(std::io::SeekFrom::Start(0))?;
    let mut left = len;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = (left.min(buf.len() as u64)) as usize;
        file.read_exact(&mut buf[..n])?;
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(())
}

fn sha1_file(path: &Path) -> Result<String> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let len = f.metadata()?.len();
    let mut h = Sha1::new();
    hash_prefix(&mut f, len, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

fn list(dir: &Path, verify: bool) -> Result<ExitCode> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("no models in {} (sotto models fetch base)", dir.display());
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => bail!("cannot read {}: {e}", dir.display()),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        println!("no models in {} (sotto models fetch base)", dir.display());
    }
    for p in files {
        let file = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if file.ends_with(".part") {
            let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            println!(
                "{file:<32} {:>8.1} MiB  incomplete download (sotto models fetch resumes it)",
                size as f64 / (1 << 20) as f64
            );
            continue;
        }
        let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        let what = match ggml_model::inspect(&p) {
            Ok(info) => info.describe(),
            Err(e) => format!("NOT loadable: {e}"),
        };
        let check = if verify {
            let name = file
                .strip_prefix("ggml-")
                .and_then(|f| f.strip_suffix(".bin"))
                .unwrap_or("");
            match published(name).and_then(|(s, _)| s) {
                Some(want) => {
                    if sha1_file(&p)? == want {
                        "  SHA-1 ok"
                    } else {
                        "  SHA-1 MISMATCH"
                    }
                }
                None => "  no published SHA-1",
            }
        } else {
            ""
        };
        println!(
            "{file:<32} {:>8.1} MiB  {what}{check}",
            size as f64 / (1 << 20) as f64
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_sums_are_well_formed_and_names_unique() {
        let mut names: Vec<&str> = MODELS.iter().map(|(n, _, _)| *n).collect();
        for (_, s, _) in MODELS {
            if let Some(s) = s {
                assert!(valid_sha1(s), "{s}");
            }
        }
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
        for want in ["tiny", "base", "small", "medium", "large-v3", "base.en"] {
            assert!(published(want).and_then(|p| p.0).is_some(), "{want}");
        }
    }
}
