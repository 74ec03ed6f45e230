//! Deal timelines (MiFID II): every interaction of a case — calls, chats, e-mails, SMS — in
//! order, with transcripts, the recordings (listed; for JSON the audio as WAV files beside the
//! export) and the case's audit trail, as JSON, Excel or PDF.
//!
//! Sealing: the SHA-256 of the written file is recorded in the audit log as an `export` entry
//! with `object` = case id and `purpose` = `sha256:<hex>`; the audit log's Merkle tree and signed
//! checkpoints make that entry tamper-evident. [`Policies::verify_case_export`] recomputes the
//! hash of a file, finds the entry, and for JSON also checks each audio file against the hash
//! the JSON lists for it. Reading the case's content is itself audited (transcript reads and
//! recording downloads by the exporting actor).

use crate::error::{PolicyError, Result};
use crate::pdf::{self, Line};
use crate::policies::Policies;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sotto_audit::{Action, Outcome, Query, Record};
use sotto_core::clock::format_rfc3339;
use sotto_core::{CaseId, TenantId, UnixMillis};
use sotto_store::InteractionFilter;
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseExportFormat {
    Json,
    Xlsx,
    Pdf,
}

impl std::str::FromStr for CaseExportFormat {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "json" => Ok(Self::Json),
            "xlsx" => Ok(Self::Xlsx),
            "pdf" => Ok(Self::Pdf),
            _ => Err(PolicyError::invalid("format", "expected pdf, xlsx or json")),
        }
    }
}

impl CaseExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Xlsx => "xlsx",
            Self::Pdf => "pdf",
        }
    }
}

/// What an export wrote. Ids, paths and hashes only.
#[derive(Debug, Clone, Serialize)]
pub struct CaseExportReceipt {
    pub tenant: TenantId,
    pub case: CaseId,
    pub format: CaseExportFormat,
    pub path: PathBuf,
    pub sha256: String,
    pub interactions: usize,
    pub recordings: usize,
    pub audio_files: Vec<PathBuf>,
    /// Sequence number of the audit entry that seals the export.
    pub audit_seq: u64,
}

/// The result of checking an export file against the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct ExportVerification {
    pub sha256: String,
    /// The sealing entry, if the log has one for this hash.
    pub sealed: Option<SealInfo>,
    /// For JSON exports: audio files whose hash differs from the one listed (or are missing).
    pub bad_audio: Vec<String>,
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SealInfo {
    pub tenant: TenantId,
    pub case: String,
    pub seq: u64,
    pub at_ms: UnixMillis,
    pub actor: String,
}

const AUDIO_DIR_SUFFIX: &str = "-audio";

impl Policies {
    /// Exports a case's complete timeline to `out` (a file path; for JSON the audio goes into
    /// `<out stem>-audio/` beside it) and seals it in the audit log.
    pub async fn export_case(
        &self,
        tenant: &TenantId,
        case: CaseId,
        format: CaseExportFormat,
        out: &Path,
        actor: &str,
    ) -> Result<CaseExportReceipt> {
        let audio_dir = audio_dir_for(out);
        let built = self
            .build_case_export(tenant, case, format, AudioOut::Dir(&audio_dir), actor)
            .await?;
        write_atomic(out, &built.bytes)?;
        match self.seal(tenant, case, &built.bytes, actor).await {
            Ok((sha, seq)) => Ok(built.receipt(tenant, case, format, out, sha, seq)),
            Err(e) => {
                // Unsealed evidence must not be handed out.
                let _ = std::fs::remove_file(out);
                for f in &built.audio_files {
                    let _ = std::fs::remove_file(f);
                }
                Err(e)
            }
        }
    }

    /// The same export, in memory, for a download (the HTTP API): nothing is written to disk.
    /// For JSON each recording is listed with the name and SHA-256 of its WAV file (as
    /// [`Policies::export_case`] would write it beside `case-<id>.json`) but the audio is not
    /// included; it is fetched through the recording endpoints. The receipt's `path` is empty.
    /// The bytes are sealed in the audit log before they are returned.
    pub async fn export_case_bytes(
        &self,
        tenant: &TenantId,
        case: CaseId,
        format: CaseExportFormat,
        actor: &str,
    ) -> Result<(Vec<u8>, CaseExportReceipt)> {
        let name = PathBuf::from(format!("case-{case}.{}", format.extension()));
        let audio_dir = audio_dir_for(&name);
        let built = self
            .build_case_export(tenant, case, format, AudioOut::HashOnly(&audio_dir), actor)
            .await?;
        let (sha, seq) = self.seal(tenant, case, &built.bytes, actor).await?;
        let receipt = built.receipt(tenant, case, format, Path::new(""), sha, seq);
        Ok((built.bytes, receipt))
    }

    /// Appends the `export` entry that seals `bytes`; returns the hash and the entry's number.
    async fn seal(
        &self,
        tenant: &TenantId,
        case: CaseId,
        bytes: &[u8],
        actor: &str,
    ) -> Result<(String, u64)> {
        let sha = hex::encode(Sha256::digest(bytes));
        let seq = self
            .audit(
                tenant,
                actor,
                Action::Export,
                None,
                Some(case.to_string()),
                Some(format!("sha256:{sha}")),
                Outcome::Ok,
            )
            .await?;
        Ok((sha, seq))
    }

    async fn build_case_export(
        &self,
        tenant: &TenantId,
        case: CaseId,
        format: CaseExportFormat,
        audio: AudioOut<'_>,
        actor: &str,
    ) -> Result<Built> {
        let vault = &self.vault;
        let audio_dir = audio.dir().to_path_buf();
        let case_row = vault
            .store()
            .get_case(tenant, case)
            .await?
            .ok_or_else(|| PolicyError::NotFound(format!("case {case}")))?;
        let rows = vault
            .store()
            .list_interactions(
                tenant,
                &InteractionFilter {
                    case_id: Some(case),
                    ..Default::default()
                },
            )
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut objects: HashSet<String> = HashSet::new();
        objects.insert(case.to_string());
        let mut audio_files = Vec::new();
        let mut n_recordings = 0usize;
        for r in &rows {
            objects.insert(r.id.to_string());
            let view = vault.read_interaction(tenant, r.id, actor).await?;
            let mut recs = Vec::new();
            for rec in &view.recordings {
                objects.insert(rec.id.to_string());
                n_recordings += 1;
                let mut entry = json!({
                    "id": rec.id.to_string(),
                    "codec": rec.codec,
                    "sample_rate": rec.sample_rate,
                    "channels": rec.channels,
                    "duration_ms": rec.duration_ms,
                });
                if format == CaseExportFormat::Json {
                    let pcm = vault
                        .read_recording_as(tenant, r.subject, rec, actor, Action::RecordingDownload)
                        .await?;
                    let wav = sotto_audio::encode_wav(&pcm);
                    let name = format!("{}-{}.wav", r.id, rec.id);
                    let path = audio_dir.join(&name);
                    if let AudioOut::Dir(_) = audio {
                        std::fs::create_dir_all(&audio_dir)
                            .map_err(|e| PolicyError::io("create audio dir", e))?;
                        write_atomic(&path, &wav)?;
                        audio_files.push(path);
                    }
                    entry["file"] = json!(format!(
                        "{}/{}",
                        audio_dir
                            .file_name()
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        name
                    ));
                    entry["sha256"] = json!(hex::encode(Sha256::digest(&wav)));
                }
                recs.push(entry);
            }
            let segments: Vec<Value> = view
                .segments
                .iter()
                .map(|s| {
                    json!({
                        "speaker": s.speaker.as_str(),
                        "kind": s.kind.as_str(),
                        "start_ms": s.start_ms,
                        "end_ms": s.end_ms,
                        "text": s.text.expose(),
                    })
                })
                .collect();
            items.push(json!({
                "interaction": r.id.to_string(),
                "subject": r.subject.to_string(),
                "channel": r.channel.as_str(),
                "direction": r.direction.as_str(),
                "started": format_rfc3339(r.started_ms),
                "started_ms": r.started_ms,
                "ended_ms": r.ended_ms,
                "agent": view.meta.agent,
                "redactions": view.summary.redactions,
                "segments": segments,
                "recordings": recs,
            }));
        }
        let trail = self.case_trail(tenant, &objects).await?;
        let doc = json!({
            "format": "sotto-case-export/1",
            "tenant": tenant.as_str(),
            "case": {
                "id": case.to_string(),
                "reference": case_row.reference,
                "opened": format_rfc3339(case_row.opened_ms),
                "closed": case_row.closed_ms.map(format_rfc3339),
            },
            "exported_at": format_rfc3339(vault.now_ms()),
            "exported_by": actor,
            "interactions": items,
            "audit_trail": trail,
        });
        let bytes = match format {
            CaseExportFormat::Json => {
                serde_json::to_vec_pretty(&doc).map_err(|e| PolicyError::Export(e.to_string()))?
            }
            CaseExportFormat::Xlsx => xlsx(&doc)?,
            CaseExportFormat::Pdf => pdf_doc(&doc),
        };
        Ok(Built {
            bytes,
            interactions: rows.len(),
            recordings: n_recordings,
            audio_files,
        })
    }

    /// Audit entries about the case, its interactions and recordings, in log order.
    async fn case_trail(&self, tenant: &TenantId, objects: &HashSet<String>) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page: Vec<Record> = self
                .vault
                .audit()
                .query(
                    tenant,
                    &Query {
                        after_seq: after,
                        limit: Some(100_000),
                        ..Default::default()
                    },
                )
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.seq);
            for r in &page {
                let hit = r.entry.object.as_deref().is_some_and(|o| {
                    objects.contains(o)
                        || o.strip_prefix("receipt:")
                            .is_some_and(|x| objects.contains(x))
                });
                if hit {
                    out.push(json!({
                        "seq": r.seq,
                        "at": format_rfc3339(r.entry.at_ms),
                        "actor": r.entry.actor,
                        "action": r.entry.action.as_str(),
                        "subject": r.entry.subject.map(|s| s.to_string()),
                        "object": r.entry.object,
                        "purpose": r.entry.purpose,
                        "outcome": r.entry.outcome.as_str(),
                        "leaf_hash": hex::encode(r.leaf_hash),
                    }));
                }
            }
            if page.len() < 100_000 {
                break;
            }
        }
        Ok(out)
    }

    /// Checks an export file: its SHA-256 must be sealed by an `export` entry in the audit log
    /// (any tenant), and for JSON every listed audio file must match its listed hash.
    pub async fn verify_case_export(&self, file: &Path) -> Result<ExportVerification> {
        let bytes = std::fs::read(file).map_err(|e| PolicyError::io("read export", e))?;
        let base = file.parent().unwrap_or(Path::new("."));
        self.verify_case_export_bytes(None, &bytes, Some(base))
            .await
    }

    /// Checks an export given as bytes (an upload). `tenant`: look for the seal in this
    /// tenant's log only (`None`: every tenant). `audio_base`: the directory the JSON's audio
    /// files are relative to; `None` checks the seal only (the audio is not at hand), and
    /// `bad_audio` stays empty.
    pub async fn verify_case_export_bytes(
        &self,
        tenant: Option<&TenantId>,
        bytes: &[u8],
        audio_base: Option<&Path>,
    ) -> Result<ExportVerification> {
        let sha = hex::encode(Sha256::digest(bytes));
        let want = format!("sha256:{sha}");
        let mut sealed = None;
        let tenants: Vec<TenantId> = match tenant {
            Some(t) => vec![t.clone()],
            None => self
                .vault
                .store()
                .list_tenants()
                .await?
                .into_iter()
                .map(|t| t.id)
                .collect(),
        };
        'tenants: for t in tenants {
            let mut after = None;
            loop {
                let page = self
                    .vault
                    .audit()
                    .query(
                        &t,
                        &Query {
                            action: Some(Action::Export),
                            after_seq: after,
                            limit: Some(100_000),
                            ..Default::default()
                        },
                    )
                    .await?;
                let Some(last) = page.last() else { break };
                after = Some(last.seq);
                if let Some(r) = page
                    .iter()
                    .find(|r| r.entry.purpose.as_deref() == Some(want.as_str()))
                {
                    sealed = Some(SealInfo {
                        tenant: t.clone(),
                        case: r.entry.object.clone().unwrap_or_default(),
                        seq: r.seq,
                        at_ms: r.entry.at_ms,
                        actor: r.entry.actor.clone(),
                    });
                    break 'tenants;
                }
            }
        }
        let mut bad_audio = Vec::new();
        let doc = audio_base.and_then(|b| Some((b, serde_json::from_slice::<Value>(bytes).ok()?)));
        if let Some((base, doc)) = doc {
            for i in doc["interactions"].as_array().into_iter().flatten() {
                for r in i["recordings"].as_array().into_iter().flatten() {
                    if let (Some(f), Some(h)) = (r["file"].as_str(), r["sha256"].as_str()) {
                        let ok = std::fs::read(base.join(f))
                            .map(|b| hex::encode(Sha256::digest(&b)) == h)
                            .unwrap_or(false);
                        if !ok {
                            bad_audio.push(f.to_owned());
                        }
                    }
                }
            }
        }
        let ok = sealed.is_some() && bad_audio.is_empty();
        Ok(ExportVerification {
            sha256: sha,
            sealed,
            bad_audio,
            ok,
        })
    }
}

/// Where the audio of a JSON export goes.
#[derive(Clone, Copy)]
enum AudioOut<'a> {
    /// Written into this directory.
    Dir(&'a Path),
    /// Not written; listed under this directory's name with its hash.
    HashOnly(&'a Path),
}

impl AudioOut<'_> {
    fn dir(&self) -> &Path {
        match self {
            AudioOut::Dir(d) | AudioOut::HashOnly(d) => d,
        }
    }
}

/// An export document before it is sealed.
struct Built {
    bytes: Vec<u8>,
    interactions: usize,
    recordings: usize,
    audio_files: Vec<PathBuf>,
}

impl Built {
    fn receipt(
        &self,
        tenant: &TenantId,
        case: CaseId,
        format: CaseExportFormat,
        path: &Path,
        sha256: String,
        audit_seq: u64,
    ) -> CaseExportReceipt {
        CaseExportReceipt {
            tenant: tenant.clone(),
            case,
            format,
            path: path.to_path_buf(),
            sha256,
            interactions: self.interactions,
            recordings: self.recordings,
            audio_files: self.audio_files.clone(),
            audit_seq,
        }
    }
}

fn audio_dir_for(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "case".into());
    out.with_file_name(format!("{stem}{AUDIO_DIR_SUFFIX}"))
}

/// Writes to a temporary name, syncs, renames.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("partial");
    let mut f = std::fs::File::create(&tmp).map_err(|e| PolicyError::io("create export", e))?;
    f.write_all(bytes)
        .map_err(|e| PolicyError::io("write export", e))?;
    f.sync_all()
        .map_err(|e| PolicyError::io("sync export", e))?;
    std::fs::rename(&tmp, path).map_err(|e| PolicyError::io("rename export", e))?;
    Ok(())
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn pdf_doc(doc: &Value) -> Vec<u8> {
    let mut l = Vec::new();
    let case = &doc["case"];
    l.push(Line::heading(format!(
        "Case {} — deal timeline",
        s(&case["reference"])
    )));
    l.push(Line::text(format!(
        "case id {}  tenant {}",
        s(&case["id"]),
        s(&doc["tenant"])
    )));
    l.push(Line::text(format!(
        "opened {}  closed {}  exported {} by {}",
        s(&case["opened"]),
        s(&case["closed"]),
        s(&doc["exported_at"]),
        s(&doc["exported_by"])
    )));
    l.push(Line::text(""));
    for (n, i) in doc["interactions"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        l.push(Line::heading(format!(
            "{}. {} {} {} — {}",
            n + 1,
            s(&i["started"]),
            s(&i["channel"]),
            s(&i["direction"]),
            s(&i["interaction"])
        )));
        l.push(Line::text(format!(
            "subject {}  redactions {}",
            s(&i["subject"]),
            s(&i["redactions"])
        )));
        for seg in i["segments"].as_array().into_iter().flatten() {
            l.push(Line::text(format!(
                "[{} ms] {}: {}",
                s(&seg["start_ms"]),
                s(&seg["speaker"]),
                s(&seg["text"])
            )));
        }
        for r in i["recordings"].as_array().into_iter().flatten() {
            l.push(Line::text(format!(
                "recording {} ({}, {} ms)",
                s(&r["id"]),
                s(&r["codec"]),
                s(&r["duration_ms"])
            )));
        }
        l.push(Line::text(""));
    }
    l.push(Line::heading("Audit trail"));
    for a in doc["audit_trail"].as_array().into_iter().flatten() {
        l.push(Line::text(format!(
            "#{} {} {} {} {} {} {}",
            s(&a["seq"]),
            s(&a["at"]),
            s(&a["actor"]),
            s(&a["action"]),
            s(&a["object"]),
            s(&a["purpose"]),
            s(&a["outcome"])
        )));
    }
    pdf::render(&format!("Case {}", s(&case["reference"])), &l)
}

fn xlsx(doc: &Value) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let xe = |e: rust_xlsxwriter::XlsxError| PolicyError::Export(e.to_string());
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    {
        let ws = wb.add_worksheet().set_name("Case").map_err(xe)?;
        let case = &doc["case"];
        for (r, (k, v)) in [
            ("case", s(&case["id"])),
            ("reference", s(&case["reference"])),
            ("tenant", s(&doc["tenant"])),
            ("opened", s(&case["opened"])),
            ("closed", s(&case["closed"])),
            ("exported", s(&doc["exported_at"])),
            ("exported by", s(&doc["exported_by"])),
        ]
        .iter()
        .enumerate()
        {
            ws.write_string_with_format(r as u32, 0, *k, &bold)
                .map_err(xe)?;
            ws.write_string(r as u32, 1, v).map_err(xe)?;
        }
    }
    {
        let ws = wb.add_worksheet().set_name("Timeline").map_err(xe)?;
        let head = [
            "started",
            "channel",
            "direction",
            "interaction",
            "subject",
            "offset ms",
            "speaker",
            "text",
        ];
        for (c, h) in head.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(xe)?;
        }
        let mut row = 1u32;
        for i in doc["interactions"].as_array().into_iter().flatten() {
            let segs: Vec<&Value> = i["segments"].as_array().into_iter().flatten().collect();
            let n = segs.len().max(1);
            for k in 0..n {
                let base = [
                    s(&i["started"]),
                    s(&i["channel"]),
                    s(&i["direction"]),
                    s(&i["interaction"]),
                    s(&i["subject"]),
                ];
                for (c, v) in base.iter().enumerate() {
                    ws.write_string(row, c as u16, v).map_err(xe)?;
                }
                if let Some(seg) = segs.get(k) {
                    ws.write_string(row, 5, s(&seg["start_ms"])).map_err(xe)?;
                    ws.write_string(row, 6, s(&seg["speaker"])).map_err(xe)?;
                    ws.write_string(row, 7, s(&seg["text"])).map_err(xe)?;
                }
                row += 1;
            }
        }
    }
    {
        let ws = wb.add_worksheet().set_name("Recordings").map_err(xe)?;
        for (c, h) in ["interaction", "recording", "codec", "duration ms"]
            .iter()
            .enumerate()
        {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(xe)?;
        }
        let mut row = 1u32;
        for i in doc["interactions"].as_array().into_iter().flatten() {
            for r in i["recordings"].as_array().into_iter().flatten() {
                ws.write_string(row, 0, s(&i["interaction"])).map_err(xe)?;
                ws.write_string(row, 1, s(&r["id"])).map_err(xe)?;
                ws.write_string(row, 2, s(&r["codec"])).map_err(xe)?;
                ws.write_string(row, 3, s(&r["duration_ms"])).map_err(xe)?;
                row += 1;
            }
        }
    }
    {
        let ws = wb.add_worksheet().set_name("Audit trail").map_err(xe)?;
        let head = [
            "seq",
            "at",
            "actor",
            "action",
            "subject",
            "object",
            "purpose",
            "outcome",
            "leaf hash",
        ];
        for (c, h) in head.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(xe)?;
        }
        for (r, a) in doc["audit_trail"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            for (c, k) in [
                "seq",
                "at",
                "actor",
                "action",
                "subject",
                "object",
                "purpose",
                "outcome",
                "leaf_hash",
            ]
            .iter()
            .enumerate()
            {
                ws.write_string(r as u32 + 1, c as u16, s(&a[*k]))
                    .map_err(xe)?;
            }
        }
    }
    wb.save_to_buffer().map_err(xe)
}
