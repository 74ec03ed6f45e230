//! HTTP upload of finished recordings and voicemail: the same batch path as `sotto ingest`
//! (`Vault::ingest`: detector over the transcript, card and special-category spans removed from
//! the text and silenced in the audio, sealed under the subject's key, audio kept only with a
//! legal basis), with the transcript supplied by the uploader or made by the configured engine.
//!
//! `multipart/form-data` with the parts:
//! - `audio` (required): the recording, its part `Content-Type` naming the codec — `audio/wav`
//!   (also `audio/x-wav`, `audio/wave`, `audio/vnd.wave`: 16-bit PCM, μ-law or A-law inside),
//!   `audio/basic` / `audio/pcmu` (raw 8 kHz μ-law), `audio/pcma` / `audio/x-alaw-basic` (raw
//!   8 kHz A-law). Anything else is 415 `unsupported_codec`; a WAV that does not decode is 400
//!   `bad_wav`.
//! - `metadata` (JSON, optional): `caller`, `email`, `customer_id`, `agent`, `direction`
//!   (`inbound`/`outbound`), `channel` (`call`/`voicemail`), `lang`, `recording_basis`,
//!   `started_ms`, `case_id`, and routing (`queue`, `campaign`, `called_number` — not stored,
//!   accepted for CRM parity).
//! - `transcript` (JSON, optional): `{"segments":[{"speaker","start_ms","end_ms","text",
//!   "words"?}]}` as for `sotto ingest --transcript`. Without it the configured engine
//!   transcribes the audio; with the `bot` engine (which cannot) the upload is refused with 422
//!   `transcript_required` — audio nothing has checked is never stored.
//!
//! The whole body is limited (`ApiSettings::upload_limit_bytes`, 413 `payload_too_large`);
//! everything is validated before anything is written, and the vault writes blob-first,
//! rows-second in one transaction, so a failed upload stores nothing.

use crate::error::{ApiError, ApiResult};
use crate::guard::Caller;
use crate::registry::{route, RouteDef, Rule};
use crate::state::ApiState;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use sotto_access::{Permission, Principal, Scope};
use sotto_audio::{DecodedWav, Pcm16, SourceEncoding};
use sotto_audit::{Action, Outcome};
use sotto_core::{CaseId, Channel, Direction, Lang, LegalBasis, Speaker};
use sotto_transcribe::{EngineConfig, EngineEvent};
use sotto_vault::transcript::{SegmentInput, TranscriptInput, WordInput};
use sotto_vault::{AudioInput, Identifier, IngestRequest};
use std::time::Duration;

/// What the uploader says about the recording. No field is required.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadMetadata {
    /// Caller phone number (E.164 or national in the server's region); left out = withheld.
    pub caller: Option<String>,
    pub email: Option<String>,
    pub customer_id: Option<String>,
    /// The agent reference who handled it; defaults to the uploader's own.
    pub agent: Option<String>,
    /// `inbound` (default) or `outbound`.
    pub direction: Option<String>,
    /// `call` (default) or `voicemail`.
    pub channel: Option<String>,
    /// `da`, `sv`, `nb`, `fi`, `et`, `de`, `en`; detected when left out.
    pub lang: Option<String>,
    /// Legal basis for keeping the audio: `consent`, `contract`, `legal_obligation`,
    /// `legitimate_interest`. Without one (outside `record` mode) only the transcript is kept.
    pub recording_basis: Option<String>,
    /// When it began (Unix ms); default now.
    pub started_ms: Option<i64>,
    pub case_id: Option<String>,
    /// Routing (for parity with live calls; not stored).
    pub queue: Option<String>,
    pub campaign: Option<String>,
    pub called_number: Option<String>,
}

/// What was stored: ids and counts only.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UploadReceipt {
    pub interaction: String,
    pub subject: String,
    pub new_subject: bool,
    pub segments: usize,
    /// Kinds found, with counts (card and special-category data removed before storage).
    pub redactions: std::collections::BTreeMap<String, u32>,
    pub audio_stored: bool,
    /// Why the audio was not kept (no legal basis), if it was not.
    pub audio_dropped_reason: Option<String>,
    /// `supplied` or the engine's name.
    pub transcribed_by: String,
}

/// The upload form, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The recording; its part Content-Type names the codec.
    #[schema(value_type = String, format = Binary)]
    audio: Vec<u8>,
    metadata: Option<UploadMetadata>,
    /// Transcript JSON as for `sotto ingest --transcript`.
    #[schema(value_type = Option<Object>)]
    transcript: Option<serde_json::Value>,
}

fn err(status: StatusCode, code: &'static str, msg: impl Into<String>) -> ApiError {
    ApiError::new(status, code, msg)
}

fn too_large(limit: usize) -> ApiError {
    err(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the upload is larger than {limit} bytes"),
    )
}

/// The codec a part's Content-Type names.
enum Codec {
    Wav,
    Raw(SourceEncoding),
}

fn codec_of(content_type: Option<&str>) -> ApiResult<Codec> {
    let ct = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => Ok(Codec::Wav),
        "audio/basic" | "audio/pcmu" | "audio/x-mulaw" => Ok(Codec::Raw(SourceEncoding::MuLaw)),
        "audio/pcma" | "audio/x-alaw-basic" => Ok(Codec::Raw(SourceEncoding::ALaw)),
        _ => Err(err(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_codec",
            "the audio part's Content-Type must be audio/wav, audio/basic (8 kHz μ-law) or \
             audio/pcma (8 kHz A-law)",
        )),
    }
}

fn decode(codec: Codec, bytes: &[u8]) -> ApiResult<DecodedWav> {
    match codec {
        Codec::Wav => sotto_audio::decode_wav(bytes)
            .map_err(|e| err(StatusCode::BAD_REQUEST, "bad_wav", e.to_string())),
        Codec::Raw(enc) => {
            if bytes.is_empty() {
                return Err(err(
                    StatusCode::BAD_REQUEST,
                    "bad_audio",
                    "the audio is empty",
                ));
            }
            let samples = match enc {
                SourceEncoding::ALaw => sotto_audio::g711::alaw_decode_slice(bytes),
                _ => sotto_audio::g711::ulaw_decode_slice(bytes),
            };
            Ok(DecodedWav {
                pcm: Pcm16 {
                    sample_rate: 8000,
                    channels: 1,
                    samples,
                },
                source: enc,
            })
        }
    }
}

/// Reads one part whole, counting against the upload's limit.
async fn read_part(
    field: &mut axum::extract::multipart::Field<'_>,
    total: &mut usize,
    limit: usize,
) -> ApiResult<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        match field.chunk().await {
            Ok(Some(c)) => {
                *total += c.len();
                if *total > limit {
                    return Err(too_large(limit));
                }
                out.extend_from_slice(&c);
            }
            Ok(None) => return Ok(out),
            Err(_) => {
                return Err(err(
                    StatusCode::BAD_REQUEST,
                    "bad_multipart",
                    "the multipart body is malformed",
                ))
            }
        }
    }
}

fn parse_enum<T: serde::de::DeserializeOwned>(
    v: Option<&str>,
    field: &'static str,
) -> ApiResult<Option<T>> {
    match v {
        None => Ok(None),
        Some(s) => serde_json::from_value(serde_json::Value::from(s))
            .map(Some)
            .map_err(|_| {
                err(
                    StatusCode::BAD_REQUEST,
                    "invalid_metadata",
                    format!("metadata.{field} has an unknown value"),
                )
            }),
    }
}

/// Whether `p` may store a recording handled by `agent` (`recording_control` reach).
async fn may_upload(st: &ApiState, p: &Principal, agent: Option<&str>) -> ApiResult<bool> {
    Ok(match p.scope_for(Permission::RecordingControl) {
        None => false,
        Some(Scope::Tenant) => true,
        Some(scope) => {
            let own = matches!((&p.agent_ref, agent), (Some(a), Some(b)) if a == b);
            own || match (scope, p.team.as_deref(), agent) {
                (Scope::Team, Some(team), Some(agent)) => {
                    st.team_agents(&p.tenant, team).await?.contains(agent)
                }
                _ => false,
            }
        }
    })
}

/// Transcribes the recording with the configured engine: mono as the caller, stereo as caller
/// (left) and agent (right). `None` when the engine cannot transcribe audio (`bot`).
async fn transcribe(
    engine: &EngineConfig,
    pcm: &Pcm16,
    lang: Option<Lang>,
) -> ApiResult<Option<TranscriptInput>> {
    if !engine.wants_audio() {
        return Ok(None);
    }
    let ch = usize::from(pcm.channels.max(1));
    let speakers = [Speaker::Caller, Speaker::Agent];
    let mut segments = Vec::new();
    for (c, speaker) in speakers.iter().enumerate().take(ch.min(2)) {
        let mono: Vec<i16> = pcm.samples.iter().skip(c).step_by(ch).copied().collect();
        let mut e = engine.build(pcm.sample_rate);
        // In one-second pieces, as a live leg would arrive.
        let step = pcm.sample_rate as usize;
        for (i, piece) in mono.chunks(step.max(1)).enumerate() {
            e.push_audio(i as u64 * 1000, piece);
        }
        e.finish();
        let mut events = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
        let mut failed = false;
        loop {
            e.poll(&mut events);
            for ev in events.drain(..) {
                match ev {
                    EngineEvent::Final { words, kind } if !words.is_empty() => {
                        let start = words.iter().map(|w| w.start_ms).min().unwrap_or(0);
                        let end = words.iter().map(|w| w.end_ms).max().unwrap_or(0);
                        let text = words
                            .iter()
                            .map(|w| w.text.expose())
                            .collect::<Vec<_>>()
                            .join(" ");
                        segments.push(SegmentInput {
                            speaker: *speaker,
                            start_ms: start as i64,
                            end_ms: end as i64,
                            text,
                            words: Some(
                                words
                                    .iter()
                                    .map(|w| WordInput {
                                        w: w.text.expose().to_owned(),
                                        start_ms: w.start_ms as i64,
                                        end_ms: w.end_ms as i64,
                                    })
                                    .collect(),
                            ),
                            kind,
                            lang: None,
                        });
                    }
                    EngineEvent::Failed { .. } => failed = true,
                    _ => {}
                }
            }
            if e.is_done() {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                failed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if failed {
            // Part of the audio was never checked: refuse rather than store it (fail closed).
            return Err(err(
                StatusCode::BAD_GATEWAY,
                "transcription_failed",
                "the transcription engine could not transcribe the whole recording; nothing \
                 was stored",
            ));
        }
    }
    segments.sort_by_key(|s| (s.start_ms, s.end_ms));
    Ok(Some(TranscriptInput {
        lang: lang.map(|l| l.code().to_owned()),
        segments,
    }))
}

/// Uploads a finished recording or voicemail (multipart: `audio`, `metadata`, `transcript`).
/// Runs the batch ingest path; card and special-category data are removed from text and audio
/// before anything is stored; the audio is kept only with a legal basis.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "Stored", body = UploadReceipt),
        (status = 400, description = "`bad_wav`, `bad_audio`, `bad_multipart`, `invalid_metadata`, `invalid_transcript`", body = crate::error::ErrorBody),
        (status = 413, description = "Larger than the upload limit", body = crate::error::ErrorBody),
        (status = 415, description = "`unsupported_codec`", body = crate::error::ErrorBody),
        (status = 422, description = "`transcript_required`: the configured engine cannot transcribe audio", body = crate::error::ErrorBody)))]
pub async fn upload(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    mut form: Multipart,
) -> ApiResult<(StatusCode, Json<UploadReceipt>)> {
    let p = caller.principal()?;
    let limit = st.settings().upload_limit_bytes;
    let mut total = 0usize;
    let mut audio = None;
    let mut meta = UploadMetadata::default();
    let mut transcript = None;
    loop {
        let field = form.next_field().await.map_err(|_| {
            err(
                StatusCode::BAD_REQUEST,
                "bad_multipart",
                "the body must be multipart/form-data with an `audio` part",
            )
        })?;
        let Some(mut field) = field else { break };
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "audio" => {
                let codec = codec_of(field.content_type())?;
                let bytes = read_part(&mut field, &mut total, limit).await?;
                audio = Some((codec, bytes));
            }
            "metadata" => {
                let bytes = read_part(&mut field, &mut total, limit).await?;
                meta = serde_json::from_slice(&bytes).map_err(|_| {
                    err(
                        StatusCode::BAD_REQUEST,
                        "invalid_metadata",
                        "metadata must be a JSON object with known fields (caller, email, \
                         customer_id, agent, direction, channel, lang, recording_basis, \
                         started_ms, case_id, queue, campaign, called_number)",
                    )
                })?;
            }
            "transcript" => {
                let bytes = read_part(&mut field, &mut total, limit).await?;
                transcript = Some(TranscriptInput::from_json(&bytes).map_err(|e| {
                    err(StatusCode::BAD_REQUEST, "invalid_transcript", e.to_string())
                })?);
            }
            _ => {
                return Err(err(
                    StatusCode::BAD_REQUEST,
                    "bad_multipart",
                    "unknown part: expected audio, metadata and transcript",
                ))
            }
        }
    }
    let (codec, bytes) = audio.ok_or_else(|| {
        err(
            StatusCode::BAD_REQUEST,
            "bad_multipart",
            "the `audio` part is missing",
        )
    })?;

    // Validate everything before anything is written.
    let agent = meta.agent.clone().or_else(|| p.agent_ref.clone());
    if !may_upload(&st, p, agent.as_deref()).await? {
        return Err(ApiError::forbidden(
            "`recording_control` does not reach recordings of that agent (scope)",
        ));
    }
    let bad = |field: &str| {
        err(
            StatusCode::BAD_REQUEST,
            "invalid_metadata",
            format!("metadata.{field} is not valid"),
        )
    };
    let region = st.settings().default_region.clone();
    let mut identifiers = Vec::new();
    if let Some(c) = &meta.caller {
        identifiers.push(Identifier::phone(c, &region).map_err(|_| bad("caller"))?);
    }
    if let Some(e) = &meta.email {
        identifiers.push(Identifier::email(e).map_err(|_| bad("email"))?);
    }
    if let Some(c) = &meta.customer_id {
        identifiers.push(Identifier::customer_id(c).map_err(|_| bad("customer_id"))?);
    }
    let direction: Direction =
        parse_enum(meta.direction.as_deref(), "direction")?.unwrap_or(Direction::Inbound);
    let channel: Channel = match meta.channel.as_deref() {
        None | Some("call") => Channel::Call,
        Some("voicemail") => Channel::Voicemail,
        Some(_) => return Err(bad("channel")),
    };
    let lang = meta
        .lang
        .as_deref()
        .map(str::parse::<Lang>)
        .transpose()
        .map_err(|_| bad("lang"))?;
    let basis: Option<LegalBasis> = parse_enum(meta.recording_basis.as_deref(), "recording_basis")?;
    let case_id = meta
        .case_id
        .as_deref()
        .map(str::parse::<CaseId>)
        .transpose()
        .map_err(|_| bad("case_id"))?;
    let wav = decode(codec, &bytes)?;
    drop(bytes);
    let (transcript, by) = match transcript {
        Some(t) => (t, "supplied".to_owned()),
        None => {
            let engine = st
                .live()
                .map(|l| l.cfg.engine.clone())
                .unwrap_or(EngineConfig::Bot);
            match transcribe(&engine, &wav.pcm, lang).await? {
                Some(t) => (t, engine.name().to_owned()),
                None => {
                    return Err(err(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "transcript_required",
                        "the configured engine cannot transcribe audio: send a `transcript` \
                         part (audio nothing has checked is never stored)",
                    ))
                }
            }
        }
    };
    let receipt = st
        .vault()
        .ingest(IngestRequest {
            tenant: p.tenant.clone(),
            channel,
            direction,
            started_ms: meta.started_ms,
            identifiers,
            subject: None,
            agent,
            case_id,
            lang,
            audio: Some(AudioInput { wav }),
            transcript: Some(transcript),
            recording_basis: basis,
            basis_source: format!("upload:{}", caller.ctx.actor),
        })
        .await?;
    // Who uploaded it (the vault's own entry names the ingest path).
    let e = caller.ctx.entry(
        &p.tenant,
        st.now_ms(),
        Action::Ingest,
        Some(receipt.subject),
        Some(receipt.interaction.to_string()),
        Outcome::Ok,
    );
    st.vault().audit().append(e).await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadReceipt {
            interaction: receipt.interaction.to_string(),
            subject: receipt.subject.to_string(),
            new_subject: receipt.new_subject,
            segments: receipt.segments,
            redactions: receipt
                .redactions
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), *v))
                .collect(),
            audio_stored: receipt.audio_stored,
            audio_dropped_reason: receipt.audio_dropped_reason.clone(),
            transcribed_by: by,
        }),
    ))
}

pub fn routes() -> Vec<RouteDef> {
    vec![route::<__path_upload, _, _>(
        Rule::Permission(Permission::RecordingControl),
        Action::Ingest,
        false,
        upload,
    )
    .without_body_limit()]
}
