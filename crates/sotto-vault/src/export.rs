//! Subject access export (GDPR Art. 15): everything stored about one subject, decrypted, as JSON
//! (schema in `docs/export-schema.md`) or Excel (one sheet per kind of record), with the audio
//! as WAV files beside it.

use crate::context::AccessContext;
use crate::error::{Result, VaultError};
use crate::vault::Vault;
use serde::Serialize;
use sotto_core::clock::format_rfc3339;
use sotto_core::{SubjectId, TenantId};
use sotto_store::InteractionFilter;
use std::path::{Path, PathBuf};

/// Version of the JSON export schema (`docs/export-schema.md`).
pub const EXPORT_SCHEMA: &str = "sotto.subject-export.v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Xlsx,
}

impl std::str::FromStr for ExportFormat {
    type Err = VaultError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "json" => Ok(Self::Json),
            "xlsx" => Ok(Self::Xlsx),
            _ => Err(VaultError::invalid("format", "expected json or xlsx")),
        }
    }
}

/// The decrypted export. Holds personal data: serialised only into the export file.
#[derive(Serialize)]
pub struct SubjectExport {
    pub schema: &'static str,
    pub generated_at: String,
    pub tenant: TenantId,
    pub subject: SubjectId,
    pub subject_state: String,
    pub subject_created_at: String,
    pub interactions: Vec<ExportInteraction>,
    pub consents: Vec<ExportConsent>,
    /// Accesses to this subject's data; filled once the audit log records them.
    pub access_log: Vec<serde_json::Value>,
}

#[derive(Serialize)]
pub struct ExportInteraction {
    pub id: String,
    pub channel: String,
    pub direction: String,
    pub started_at: String,
    pub ended_at: String,
    pub duration_s: f64,
    pub case_id: Option<String>,
    pub caller: Option<String>,
    pub agent: Option<String>,
    pub language: Option<String>,
    /// Kinds removed or found, with counts (payment-card and special-category data were never
    /// stored, so they cannot be exported; the counts say they were there).
    pub redactions: std::collections::BTreeMap<String, u32>,
    pub transcript: Vec<ExportSegment>,
    pub recordings: Vec<ExportRecording>,
    /// A live call's timeline: recording paused/resumed/stopped, consent, gaps, PCI pauses.
    pub timeline: Vec<ExportTimelineEvent>,
}

#[derive(Serialize)]
pub struct ExportTimelineEvent {
    /// Media time, ms since the call started.
    pub at_ms: i64,
    pub leg: Option<i64>,
    pub kind: String,
    pub detail: serde_json::Value,
    pub actor: String,
    pub reason: Option<String>,
}

#[derive(Serialize)]
pub struct ExportSegment {
    pub speaker: String,
    pub kind: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
}

#[derive(Serialize)]
pub struct ExportRecording {
    pub id: String,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub duration_s: f64,
    /// Path of the WAV file relative to the export file, when exported with audio.
    pub file: Option<String>,
    /// The stored row, for fetching the audio; not part of the export.
    #[serde(skip)]
    pub row: sotto_store::RecordingRow,
}

#[derive(Serialize)]
pub struct ExportConsent {
    pub purpose: String,
    pub legal_basis: String,
    pub state: String,
    pub source: String,
    pub at: String,
    pub interaction: Option<String>,
}

/// Where the export went.
#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    pub file: PathBuf,
    pub audio_dir: Option<PathBuf>,
    pub interactions: usize,
    pub segments: usize,
    pub recordings: usize,
    pub bytes: u64,
}

impl Vault {
    /// Collects and decrypts everything about a subject. `progress` is called with (done, total)
    /// interactions.
    pub async fn collect_export(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        actor: &str,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<SubjectExport> {
        self.collect_export_with(tenant, subject, &AccessContext::actor(actor), progress)
            .await
    }

    /// Collects and decrypts, records the export under `ctx`, then attaches the subject's own
    /// access log (Art. 15(1)(c): who received the data), this export included.
    pub(crate) async fn collect_export_with(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        ctx: &AccessContext,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<SubjectExport> {
        self.tenant(tenant).await?;
        let result = self
            .collect_export_unaudited(tenant, subject, progress)
            .await;
        let mut export = self
            .audited_ctx(
                tenant,
                ctx,
                sotto_audit::Action::Export,
                Some(subject),
                None,
                result,
            )
            .await?;
        let q = sotto_audit::Query {
            subject: Some(subject),
            limit: Some(100_000),
            ..Default::default()
        };
        export.access_log = self
            .audit()
            .query(tenant, &q)
            .await?
            .into_iter()
            .map(|r| {
                serde_json::json!({
                    "seq": r.seq,
                    "at": format_rfc3339(r.entry.at_ms),
                    "actor": r.entry.actor,
                    "action": r.entry.action.as_str(),
                    "object": r.entry.object,
                    "from": r.entry.from,
                    "purpose": r.entry.purpose,
                    "outcome": r.entry.outcome.as_str(),
                })
            })
            .collect();
        Ok(export)
    }

    pub(crate) async fn collect_export_unaudited(
        &self,
        tenant: &TenantId,
        subject: SubjectId,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<SubjectExport> {
        let srow = self
            .store()
            .get_subject(tenant, subject)
            .await?
            .ok_or_else(|| VaultError::SubjectNotFound(tenant.clone()))?;
        if srow.state == sotto_core::SubjectState::Erased {
            return Err(VaultError::SubjectErased(subject));
        }
        let rows = self
            .store()
            .list_interactions(
                tenant,
                &InteractionFilter {
                    subject: Some(subject),
                    ..Default::default()
                },
            )
            .await?;
        let total = rows.len() as u64;
        let mut interactions = Vec::with_capacity(rows.len());
        let cipher = if rows.is_empty() {
            None
        } else {
            Some(self.cipher_for(tenant, subject).await?)
        };
        for (i, row) in rows.into_iter().enumerate() {
            let Some(cipher) = &cipher else { break };
            let view = self.open_interaction(cipher, row).await?;
            let s = &view.summary;
            interactions.push(ExportInteraction {
                id: s.id.to_string(),
                channel: s.channel.to_string(),
                direction: s.direction.to_string(),
                started_at: format_rfc3339(s.started_ms),
                ended_at: format_rfc3339(s.ended_ms),
                duration_s: (s.ended_ms - s.started_ms) as f64 / 1000.0,
                case_id: s.case_id.map(|c| c.to_string()),
                caller: view.meta.caller.clone(),
                agent: view.meta.agent.clone(),
                language: view.meta.lang.clone(),
                redactions: s.redactions.clone(),
                transcript: view
                    .segments
                    .iter()
                    .map(|seg| ExportSegment {
                        speaker: seg.speaker.to_string(),
                        kind: seg.kind.to_string(),
                        start_ms: seg.start_ms,
                        end_ms: seg.end_ms,
                        text: seg.text.expose().to_owned(),
                    })
                    .collect(),
                recordings: view
                    .recordings
                    .iter()
                    .map(|r| ExportRecording {
                        id: r.id.to_string(),
                        codec: r.codec.clone(),
                        sample_rate: r.sample_rate,
                        channels: r.channels,
                        duration_s: r.duration_ms as f64 / 1000.0,
                        file: None,
                        row: r.clone(),
                    })
                    .collect(),
                timeline: view
                    .timeline
                    .iter()
                    .map(|t| ExportTimelineEvent {
                        at_ms: t.at_ms,
                        leg: t.leg,
                        kind: t.kind.clone(),
                        detail: t.detail.clone(),
                        actor: t.actor.clone(),
                        reason: t.reason.as_ref().map(|r| r.expose().to_owned()),
                    })
                    .collect(),
            });
            progress(i as u64 + 1, total);
        }
        let consents = self
            .store()
            .consents_for_subject(tenant, subject)
            .await?
            .into_iter()
            .map(|c| ExportConsent {
                purpose: c.purpose.to_string(),
                legal_basis: c.basis.to_string(),
                state: c.state.to_string(),
                source: c.source,
                at: format_rfc3339(c.at_ms),
                interaction: c.interaction.map(|i| i.to_string()),
            })
            .collect();
        Ok(SubjectExport {
            schema: EXPORT_SCHEMA,
            generated_at: format_rfc3339(self.now_ms()),
            tenant: tenant.clone(),
            subject,
            subject_state: srow.state.to_string(),
            subject_created_at: format_rfc3339(srow.created_ms),
            interactions,
            consents,
            access_log: Vec::new(),
        })
    }

    /// Writes the export to `out` (and, with `with_audio`, WAV files into `<out stem>-audio/`).
    /// Files are written to a temporary name and renamed, so a failed export leaves nothing.
    pub async fn write_export(
        &self,
        mut export: SubjectExport,
        format: ExportFormat,
        out: &Path,
        with_audio: bool,
        actor: &str,
    ) -> Result<ExportSummary> {
        let io = |op: &'static str| {
            move |e: std::io::Error| VaultError::Io {
                op,
                message: e.kind().to_string(),
            }
        };
        let audio_dir = if with_audio {
            let stem = out
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "export".into());
            let dir = out.with_file_name(format!("{stem}-audio"));
            std::fs::create_dir_all(&dir).map_err(io("creating the audio directory"))?;
            Some(dir)
        } else {
            None
        };
        let mut recordings = 0usize;
        if let Some(dir) = &audio_dir {
            for inter in &mut export.interactions {
                for rec in &mut inter.recordings {
                    let pcm = self
                        .read_recording_as(
                            &export.tenant,
                            export.subject,
                            &rec.row,
                            actor,
                            sotto_audit::Action::RecordingDownload,
                        )
                        .await?;
                    let name = format!("{}-{}.wav", inter.id, rec.id);
                    let path = dir.join(&name);
                    write_atomic(&path, &sotto_audio::encode_wav(&pcm))
                        .map_err(io("writing audio"))?;
                    let dir_name = dir
                        .file_name()
                        .map(|d| d.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    rec.file = Some(format!("{dir_name}/{name}"));
                    recordings += 1;
                }
            }
        }
        let bytes = match format {
            ExportFormat::Json => {
                serde_json::to_vec_pretty(&export).map_err(|e| VaultError::Export(e.to_string()))?
            }
            ExportFormat::Xlsx => xlsx_bytes(&export)?,
        };
        write_atomic(out, &bytes).map_err(io("writing the export file"))?;
        Ok(ExportSummary {
            file: out.to_path_buf(),
            audio_dir,
            interactions: export.interactions.len(),
            segments: export.interactions.iter().map(|i| i.transcript.len()).sum(),
            recordings,
            bytes: bytes.len() as u64,
        })
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

pub(crate) fn xlsx_bytes(e: &SubjectExport) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let xe = |err: rust_xlsxwriter::XlsxError| VaultError::Export(err.to_string());
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();

    let write_header = |ws: &mut rust_xlsxwriter::Worksheet, cols: &[(&str, f64)]| -> Result<()> {
        for (c, (name, width)) in cols.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *name, &bold)
                .map_err(xe)?;
            ws.set_column_width(c as u16, *width).map_err(xe)?;
        }
        ws.set_freeze_panes(1, 0).map_err(xe)?;
        Ok(())
    };

    {
        let ws = wb.add_worksheet().set_name("Subject").map_err(xe)?;
        write_header(ws, &[("Field", 24.0), ("Value", 60.0)])?;
        let rows = [
            ("Subject id", e.subject.to_string()),
            ("Tenant", e.tenant.to_string()),
            ("State", e.subject_state.clone()),
            ("First seen", e.subject_created_at.clone()),
            ("Export generated", e.generated_at.clone()),
            ("Interactions", e.interactions.len().to_string()),
            ("Export schema", e.schema.to_string()),
        ];
        for (r, (k, v)) in rows.iter().enumerate() {
            ws.write_string(r as u32 + 1, 0, *k).map_err(xe)?;
            ws.write_string(r as u32 + 1, 1, v).map_err(xe)?;
        }
    }
    {
        let ws = wb.add_worksheet().set_name("Interactions").map_err(xe)?;
        write_header(
            ws,
            &[
                ("Interaction", 38.0),
                ("Channel", 10.0),
                ("Direction", 10.0),
                ("Started", 22.0),
                ("Ended", 22.0),
                ("Duration (s)", 12.0),
                ("Caller", 16.0),
                ("Agent", 14.0),
                ("Language", 9.0),
                ("Case", 38.0),
                ("Removed or found (kind: count)", 40.0),
                ("Recordings", 11.0),
            ],
        )?;
        for (r, i) in e.interactions.iter().enumerate() {
            let r = r as u32 + 1;
            let red = i
                .redactions
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let cells = [
                i.id.clone(),
                i.channel.clone(),
                i.direction.clone(),
                i.started_at.clone(),
                i.ended_at.clone(),
            ];
            for (c, v) in cells.iter().enumerate() {
                ws.write_string(r, c as u16, v).map_err(xe)?;
            }
            ws.write_number(r, 5, i.duration_s).map_err(xe)?;
            ws.write_string(r, 6, i.caller.as_deref().unwrap_or(""))
                .map_err(xe)?;
            ws.write_string(r, 7, i.agent.as_deref().unwrap_or(""))
                .map_err(xe)?;
            ws.write_string(r, 8, i.language.as_deref().unwrap_or(""))
                .map_err(xe)?;
            ws.write_string(r, 9, i.case_id.as_deref().unwrap_or(""))
                .map_err(xe)?;
            ws.write_string(r, 10, &red).map_err(xe)?;
            ws.write_number(r, 11, i.recordings.len() as f64)
                .map_err(xe)?;
        }
    }
    {
        let ws = wb.add_worksheet().set_name("Transcripts").map_err(xe)?;
        write_header(
            ws,
            &[
                ("Interaction", 38.0),
                ("Start (s)", 10.0),
                ("End (s)", 10.0),
                ("Speaker", 9.0),
                ("Kind", 9.0),
                ("Text", 100.0),
            ],
        )?;
        let mut r = 1u32;
        for i in &e.interactions {
            for s in &i.transcript {
                ws.write_string(r, 0, &i.id).map_err(xe)?;
                ws.write_number(r, 1, s.start_ms as f64 / 1000.0)
                    .map_err(xe)?;
                ws.write_number(r, 2, s.end_ms as f64 / 1000.0)
                    .map_err(xe)?;
                ws.write_string(r, 3, &s.speaker).map_err(xe)?;
                ws.write_string(r, 4, &s.kind).map_err(xe)?;
                ws.write_string(r, 5, &s.text).map_err(xe)?;
                r += 1;
            }
        }
    }
    {
        let ws = wb.add_worksheet().set_name("Recordings").map_err(xe)?;
        write_header(
            ws,
            &[
                ("Interaction", 38.0),
                ("Recording", 38.0),
                ("Codec", 16.0),
                ("Sample rate", 11.0),
                ("Duration (s)", 12.0),
                ("File", 60.0),
            ],
        )?;
        let mut r = 1u32;
        for i in &e.interactions {
            for rec in &i.recordings {
                ws.write_string(r, 0, &i.id).map_err(xe)?;
                ws.write_string(r, 1, &rec.id).map_err(xe)?;
                ws.write_string(r, 2, &rec.codec).map_err(xe)?;
                ws.write_number(r, 3, f64::from(rec.sample_rate))
                    .map_err(xe)?;
                ws.write_number(r, 4, rec.duration_s).map_err(xe)?;
                ws.write_string(
                    r,
                    5,
                    rec.file
                        .as_deref()
                        .unwrap_or("(not exported; use --with-audio)"),
                )
                .map_err(xe)?;
                r += 1;
            }
        }
    }
    {
        let ws = wb.add_worksheet().set_name("Timeline").map_err(xe)?;
        write_header(
            ws,
            &[
                ("Interaction", 38.0),
                ("At (s)", 10.0),
                ("Leg", 5.0),
                ("Event", 20.0),
                ("Detail", 30.0),
                ("Actor", 30.0),
                ("Reason", 60.0),
            ],
        )?;
        let mut r = 1u32;
        for i in &e.interactions {
            for t in &i.timeline {
                ws.write_string(r, 0, &i.id).map_err(xe)?;
                ws.write_number(r, 1, t.at_ms as f64 / 1000.0).map_err(xe)?;
                if let Some(l) = t.leg {
                    ws.write_number(r, 2, l as f64).map_err(xe)?;
                }
                ws.write_string(r, 3, &t.kind).map_err(xe)?;
                ws.write_string(r, 4, t.detail.to_string()).map_err(xe)?;
                ws.write_string(r, 5, &t.actor).map_err(xe)?;
                ws.write_string(r, 6, t.reason.as_deref().unwrap_or(""))
                    .map_err(xe)?;
                r += 1;
            }
        }
    }
    {
        let ws = wb.add_worksheet().set_name("Consents").map_err(xe)?;
        write_header(
            ws,
            &[
                ("Purpose", 14.0),
                ("Legal basis", 20.0),
                ("State", 10.0),
                ("Source", 16.0),
                ("At", 22.0),
                ("Interaction", 38.0),
            ],
        )?;
        for (r, c) in e.consents.iter().enumerate() {
            let r = r as u32 + 1;
            for (col, v) in [&c.purpose, &c.legal_basis, &c.state, &c.source, &c.at]
                .iter()
                .enumerate()
            {
                ws.write_string(r, col as u16, v.as_str()).map_err(xe)?;
            }
            ws.write_string(r, 5, c.interaction.as_deref().unwrap_or(""))
                .map_err(xe)?;
        }
    }
    {
        let ws = wb.add_worksheet().set_name("Access log").map_err(xe)?;
        write_header(ws, &[("Entry", 100.0)])?;
        for (r, a) in e.access_log.iter().enumerate() {
            ws.write_string(r as u32 + 1, 0, a.to_string())
                .map_err(xe)?;
        }
    }
    wb.save_to_buffer().map_err(xe)
}
