//! The ggml Whisper model file (the `.bin` files whisper.cpp loads): reading and checking its
//! structure, and writing synthetic models with the real shapes for tests and benchmarks.
//!
//! Layout (little-endian): magic `ggml` (`0x67676d6c`); eleven `i32` hyper-parameters (`n_vocab`,
//! `n_audio_ctx`, `n_audio_state`, `n_audio_head`, `n_audio_layer`, `n_text_ctx`,
//! `n_text_state`, `n_text_head`, `n_text_layer`, `n_mels`, `ftype`); the mel filter bank
//! (`i32 n_mel`, `i32 n_fft`, `n_mel × n_fft` `f32`); the vocabulary (`i32` count, then per
//! token a `u32` length and its bytes); then tensors until the end of the file, each
//! `i32 n_dims`, `i32 name_len`, `i32 type`, `n_dims × i32` extents (innermost first), the name,
//! and the data with no padding.
//!
//! [`inspect`] walks the whole file without reading the weights and checks every tensor's name,
//! shape, type and length against what the hyper-parameters imply — the same rules whisper.cpp's
//! loader applies, checked first in Rust so that a damaged or foreign file is a specific error
//! here instead of an abort (a failed assertion or an allocation of a garbage size) inside C++.
//! [`write_synthetic`] writes a complete model (every tensor with its real name and shape, filled
//! with small noise): whisper.cpp loads and runs it — meaningless text, real cost.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// `ggml` as a little-endian `u32`.
pub const GGML_MAGIC: u32 = 0x6767_6d6c;
/// `GGUF`: a newer container whisper.cpp does not load for Whisper models.
const GGUF_MAGIC: u32 = 0x4655_4747;
/// The quantisation-version factor folded into `ftype`.
const QNT_VERSION_FACTOR: i32 = 1000;

/// The hyper-parameters at the head of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    /// Weight type (0 f32, 1 f16, 2 q4_0, 3 q4_1, 7 q8_0, 8 q5_0, 9 q5_1, 10–14 k-quants),
    /// plus 1000 × the quantisation version.
    pub ftype: i32,
}

impl Hparams {
    fn dims(n_vocab: i32, state: i32, head: i32, layer: i32, n_mels: i32) -> Self {
        Self {
            n_vocab,
            n_audio_ctx: 1500,
            n_audio_state: state,
            n_audio_head: head,
            n_audio_layer: layer,
            n_text_ctx: 448,
            n_text_state: state,
            n_text_head: head,
            n_text_layer: layer,
            n_mels,
            ftype: 1,
        }
    }
    /// `tiny` (39 M parameters), f16.
    pub fn tiny() -> Self {
        Self::dims(51865, 384, 6, 4, 80)
    }
    /// `base` (74 M parameters), f16.
    pub fn base() -> Self {
        Self::dims(51865, 512, 8, 6, 80)
    }
    /// `small` (244 M parameters), f16.
    pub fn small() -> Self {
        Self::dims(51865, 768, 12, 12, 80)
    }

    /// The size name whisper.cpp gives these dimensions.
    pub fn size_name(&self) -> &'static str {
        match self.n_audio_layer {
            4 => "tiny",
            6 => "base",
            12 => "small",
            24 => "medium",
            32 if self.n_vocab == 51866 => "large-v3",
            32 => "large",
            _ => "unknown",
        }
    }

    /// English-only models have a smaller vocabulary.
    pub fn is_multilingual(&self) -> bool {
        self.n_vocab >= 51865
    }

    fn weight_type(&self) -> Option<GgmlType> {
        GgmlType::for_ftype(self.ftype % QNT_VERSION_FACTOR)
    }
}

/// Tensor element types whisper models use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
}

impl GgmlType {
    fn from_id(id: i32) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            10 => Self::Q2K,
            11 => Self::Q3K,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            _ => return None,
        })
    }
    fn id(self) -> i32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
            Self::Q2K => 10,
            Self::Q3K => 11,
            Self::Q4K => 12,
            Self::Q5K => 13,
            Self::Q6K => 14,
        }
    }
    /// The weight type of a file type (`ftype` without the quantisation version).
    fn for_ftype(ftype: i32) -> Option<Self> {
        Some(match ftype {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            7 => Self::Q8_0,
            8 => Self::Q5_0,
            9 => Self::Q5_1,
            10 => Self::Q2K,
            11 => Self::Q3K,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            _ => return None,
        })
    }
    /// (elements per block, bytes per block)
    fn block(self) -> (u64, u64) {
        match self {
            Self::F32 => (1, 4),
            Self::F16 => (1, 2),
            Self::Q4_0 => (32, 18),
            Self::Q4_1 => (32, 20),
            Self::Q5_0 => (32, 22),
            Self::Q5_1 => (32, 24),
            Self::Q8_0 => (32, 34),
            Self::Q2K => (256, 84),
            Self::Q3K => (256, 110),
            Self::Q4K => (256, 144),
            Self::Q5K => (256, 176),
            Self::Q6K => (256, 210),
        }
    }
    /// Bytes of a tensor whose innermost extent is `ne0`, `None` when it does not fill blocks.
    fn bytes(self, ne0: u64, elements: u64) -> Option<u64> {
        let (per, size) = self.block();
        if ne0 % per != 0 {
            return None;
        }
        (elements / per).checked_mul(size)
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::Q4_0 => "q4_0",
            Self::Q4_1 => "q4_1",
            Self::Q5_0 => "q5_0",
            Self::Q5_1 => "q5_1",
            Self::Q8_0 => "q8_0",
            Self::Q2K => "q2_k",
            Self::Q3K => "q3_k",
            Self::Q4K => "q4_k",
            Self::Q5K => "q5_k",
            Self::Q6K => "q6_k",
        }
    }
}

/// What a tensor is stored as: the weight type, the convolution type (f16 unless the model is
/// all f32), or always f32 (biases, norms, positional embeddings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Weight,
    Conv,
    F32,
}

/// One tensor the model must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    /// Extents, innermost first (ggml order), padded with 1 to three.
    pub shape: [u64; 3],
    class: Class,
}

impl TensorSpec {
    fn elements(&self) -> u64 {
        self.shape.iter().product()
    }
    fn ty(&self, wtype: GgmlType) -> GgmlType {
        match self.class {
            Class::Weight => wtype,
            Class::Conv if wtype == GgmlType::F32 => GgmlType::F32,
            Class::Conv => GgmlType::F16,
            Class::F32 => GgmlType::F32,
        }
    }
}

/// Every tensor a Whisper model with these hyper-parameters has, with its shape: the encoder
/// (positional embedding, two convolutions, six tensors of self-attention, two of MLP and two
/// layer norms per block, the final norm) and the decoder (positional and token embeddings,
/// self- and cross-attention, MLP and norms per block, the final norm).
pub fn tensor_table(h: &Hparams) -> Vec<TensorSpec> {
    let u = |v: i32| u64::try_from(v).unwrap_or(0);
    let (a, actx, mels) = (u(h.n_audio_state), u(h.n_audio_ctx), u(h.n_mels));
    let (t, tctx, vocab) = (u(h.n_text_state), u(h.n_text_ctx), u(h.n_vocab));
    let mut v = Vec::new();
    let mut add = |name: String, shape: [u64; 3], class: Class| {
        v.push(TensorSpec { name, shape, class });
    };
    add(
        "encoder.positional_embedding".into(),
        [a, actx, 1],
        Class::F32,
    );
    add("encoder.conv1.weight".into(), [3, mels, a], Class::Conv);
    add("encoder.conv1.bias".into(), [1, a, 1], Class::F32);
    add("encoder.conv2.weight".into(), [3, a, a], Class::Conv);
    add("encoder.conv2.bias".into(), [1, a, 1], Class::F32);
    add("encoder.ln_post.weight".into(), [a, 1, 1], Class::F32);
    add("encoder.ln_post.bias".into(), [a, 1, 1], Class::F32);
    // Self-attention and MLP of one block; `n` = the state width.
    let block = |add: &mut dyn FnMut(String, [u64; 3], Class), p: &str, n: u64| {
        add(format!("{p}.mlp_ln.weight"), [n, 1, 1], Class::F32);
        add(format!("{p}.mlp_ln.bias"), [n, 1, 1], Class::F32);
        add(format!("{p}.mlp.0.weight"), [n, 4 * n, 1], Class::Weight);
        add(format!("{p}.mlp.0.bias"), [4 * n, 1, 1], Class::F32);
        add(format!("{p}.mlp.2.weight"), [4 * n, n, 1], Class::Weight);
        add(format!("{p}.mlp.2.bias"), [n, 1, 1], Class::F32);
        attention(add, &format!("{p}.attn"), &format!("{p}.attn_ln"), n);
    };
    for i in 0..u(h.n_audio_layer) {
        block(&mut add, &format!("encoder.blocks.{i}"), a);
    }
    add(
        "decoder.positional_embedding".into(),
        [t, tctx, 1],
        Class::F32,
    );
    add(
        "decoder.token_embedding.weight".into(),
        [t, vocab, 1],
        Class::Weight,
    );
    add("decoder.ln.weight".into(), [t, 1, 1], Class::F32);
    add("decoder.ln.bias".into(), [t, 1, 1], Class::F32);
    for i in 0..u(h.n_text_layer) {
        let p = format!("decoder.blocks.{i}");
        block(&mut add, &p, t);
        attention(
            &mut add,
            &format!("{p}.cross_attn"),
            &format!("{p}.cross_attn_ln"),
            t,
        );
    }
    v
}

/// An attention layer: its layer norm, query/key/value/out projections (the key has no bias).
fn attention(add: &mut dyn FnMut(String, [u64; 3], Class), attn: &str, ln: &str, n: u64) {
    add(format!("{ln}.weight"), [n, 1, 1], Class::F32);
    add(format!("{ln}.bias"), [n, 1, 1], Class::F32);
    add(format!("{attn}.query.weight"), [n, n, 1], Class::Weight);
    add(format!("{attn}.query.bias"), [n, 1, 1], Class::F32);
    add(format!("{attn}.key.weight"), [n, n, 1], Class::Weight);
    add(format!("{attn}.value.weight"), [n, n, 1], Class::Weight);
    add(format!("{attn}.value.bias"), [n, 1, 1], Class::F32);
    add(format!("{attn}.out.weight"), [n, n, 1], Class::Weight);
    add(format!("{attn}.out.bias"), [n, 1, 1], Class::F32);
}

/// Why a file is not a loadable Whisper model. Messages name the file's structure, never its
/// vocabulary.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("model file not found: {0}")]
    NotFound(String),
    #[error("cannot read model file {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{0} is a GGUF file; the whisper engine needs a ggml Whisper model (.bin), e.g. from `sotto models fetch`")]
    Gguf(String),
    #[error("{0} is not a ggml Whisper model (bad magic)")]
    BadMagic(String),
    #[error("{path} is truncated ({what})")]
    Truncated { path: String, what: String },
    #[error("{path} is corrupt: {what}")]
    Corrupt { path: String, what: String },
    #[error("{path}: unsupported weight type {ftype}")]
    UnsupportedType { path: String, ftype: i32 },
}

/// What [`inspect`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub hparams: Hparams,
    pub weight_type: GgmlType,
    pub vocab_in_file: u32,
    pub tensors: usize,
    pub file_bytes: u64,
}

impl ModelInfo {
    /// e.g. `base f16, multilingual, 245 tensors`.
    pub fn describe(&self) -> String {
        format!(
            "{} {}, {}, {} tensors",
            self.hparams.size_name(),
            self.weight_type.name(),
            if self.hparams.is_multilingual() {
                "multilingual"
            } else {
                "English only"
            },
            self.tensors
        )
    }
}

struct Reader<R> {
    r: R,
    pos: u64,
    len: u64,
    path: String,
}

impl<R: Read + Seek> Reader<R> {
    fn truncated(&self, what: &str) -> ModelFileError {
        ModelFileError::Truncated {
            path: self.path.clone(),
            what: what.into(),
        }
    }
    fn corrupt(&self, what: impl Into<String>) -> ModelFileError {
        ModelFileError::Corrupt {
            path: self.path.clone(),
            what: what.into(),
        }
    }
    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ModelFileError> {
        if self.len - self.pos < N as u64 {
            return Err(self.truncated(what));
        }
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).map_err(|e| ModelFileError::Io {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        self.pos += N as u64;
        Ok(b)
    }
    fn i32(&mut self, what: &str) -> Result<i32, ModelFileError> {
        Ok(i32::from_le_bytes(self.bytes::<4>(what)?))
    }
    fn u32(&mut self, what: &str) -> Result<u32, ModelFileError> {
        Ok(u32::from_le_bytes(self.bytes::<4>(what)?))
    }
    fn skip(&mut self, n: u64, what: &str) -> Result<(), ModelFileError> {
        if self.len - self.pos < n {
            return Err(self.truncated(what));
        }
        self.pos += n;
        self.r
            .seek(SeekFrom::Start(self.pos))
            .map_err(|e| ModelFileError::Io {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        Ok(())
    }
    fn read_vec(&mut self, n: usize, what: &str) -> Result<Vec<u8>, ModelFileError> {
        if self.len - self.pos < n as u64 {
            return Err(self.truncated(what));
        }
        let mut b = vec![0u8; n];
        self.r.read_exact(&mut b).map_err(|e| ModelFileError::Io {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        self.pos += n as u64;
        Ok(b)
    }
}

fn check_hparams(h: &Hparams, path: &str) -> Result<GgmlType, ModelFileError> {
    let corrupt = |what: String| ModelFileError::Corrupt {
        path: path.into(),
        what,
    };
    let in_range = |name: &str, v: i32, lo: i32, hi: i32| {
        if (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(corrupt(format!("{name} = {v} is outside {lo}..={hi}")))
        }
    };
    in_range("n_vocab", h.n_vocab, 51_000, 60_000)?;
    in_range("n_audio_ctx", h.n_audio_ctx, 1, 4096)?;
    in_range("n_audio_state", h.n_audio_state, 1, 8192)?;
    in_range("n_audio_head", h.n_audio_head, 1, 128)?;
    in_range("n_audio_layer", h.n_audio_layer, 1, 64)?;
    in_range("n_text_ctx", h.n_text_ctx, 1, 4096)?;
    in_range("n_text_state", h.n_text_state, 1, 8192)?;
    in_range("n_text_head", h.n_text_head, 1, 128)?;
    in_range("n_text_layer", h.n_text_layer, 1, 64)?;
    in_range("n_mels", h.n_mels, 1, 256)?;
    if h.n_text_state != h.n_audio_state {
        return Err(corrupt("n_text_state differs from n_audio_state".into()));
    }
    if h.n_audio_state % h.n_audio_head != 0 || h.n_text_state % h.n_text_head != 0 {
        return Err(corrupt(
            "the state width is not a multiple of the head count".into(),
        ));
    }
    if h.ftype < 0 {
        return Err(corrupt(format!("ftype = {} is negative", h.ftype)));
    }
    h.weight_type().ok_or(ModelFileError::UnsupportedType {
        path: path.into(),
        ftype: h.ftype,
    })
}

/// Checks the structure of a model file: hyper-parameters, mel filters, vocabulary and every
/// tensor (name, shape, type, length), without reading the weights.
pub fn inspect(path: &Path) -> Result<ModelInfo, ModelFileError> {
    let shown = path.display().to_string();
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ModelFileError::NotFound(shown))
        }
        Err(e) => {
            return Err(ModelFileError::Io {
                path: shown,
                reason: e.to_string(),
            })
        }
    };
    let len = f
        .metadata()
        .map_err(|e| ModelFileError::Io {
            path: shown.clone(),
            reason: e.to_string(),
        })?
        .len();
    if !f.metadata().map(|m| m.is_file()).unwrap_or(false) {
        return Err(ModelFileError::Io {
            path: shown,
            reason: "not a regular file".into(),
        });
    }
    inspect_reader(std::io::BufReader::new(f), len, shown)
}

/// [`inspect`] over any seekable reader of `len` bytes (`path` only names it in errors).
pub fn inspect_reader<R: Read + Seek>(
    r: R,
    len: u64,
    path: String,
) -> Result<ModelInfo, ModelFileError> {
    let mut r = Reader {
        r,
        pos: 0,
        len,
        path,
    };
    let magic = r.u32("no magic")?;
    if magic == GGUF_MAGIC {
        return Err(ModelFileError::Gguf(r.path));
    }
    if magic != GGML_MAGIC {
        return Err(ModelFileError::BadMagic(r.path));
    }
    let mut p = [0i32; 11];
    for v in &mut p {
        *v = r.i32("in the hyper-parameters")?;
    }
    let h = Hparams {
        n_vocab: p[0],
        n_audio_ctx: p[1],
        n_audio_state: p[2],
        n_audio_head: p[3],
        n_audio_layer: p[4],
        n_text_ctx: p[5],
        n_text_state: p[6],
        n_text_head: p[7],
        n_text_layer: p[8],
        n_mels: p[9],
        ftype: p[10],
    };
    let wtype = check_hparams(&h, &r.path)?;

    let n_mel = r.i32("in the mel filters")?;
    let n_fft = r.i32("in the mel filters")?;
    if n_mel != h.n_mels || !(1..=4096).contains(&n_fft) {
        return Err(r.corrupt(format!(
            "mel filter bank is {n_mel} × {n_fft} for a model with {} mels",
            h.n_mels
        )));
    }
    r.skip(n_mel as u64 * n_fft as u64 * 4, "in the mel filters")?;

    let n_tokens = r.i32("in the vocabulary")?;
    if !(0..=h.n_vocab).contains(&n_tokens) {
        return Err(r.corrupt(format!(
            "vocabulary has {n_tokens} entries for n_vocab {}",
            h.n_vocab
        )));
    }
    let mut has_space = false;
    for _ in 0..n_tokens {
        let l = r.u32("in the vocabulary")?;
        if l > 1024 {
            return Err(r.corrupt(format!("a vocabulary entry is {l} bytes long")));
        }
        if l == 1 {
            has_space |= r.read_vec(1, "in the vocabulary")? == b" ";
        } else {
            r.skip(u64::from(l), "in the vocabulary")?;
        }
    }
    if !has_space {
        // whisper.cpp looks the blank token up unchecked (an abort, not an error)
        return Err(r.corrupt("the vocabulary has no blank (\" \") token"));
    }

    let table = tensor_table(&h);
    let mut want: HashMap<&str, &TensorSpec> = table.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut seen = 0usize;
    while r.pos < r.len {
        let n_dims = r.i32("in a tensor header")?;
        let name_len = r.i32("in a tensor header")?;
        let ttype = r.i32("in a tensor header")?;
        if !(1..=3).contains(&n_dims) {
            return Err(r.corrupt(format!("a tensor has {n_dims} dimensions")));
        }
        if !(1..=256).contains(&name_len) {
            return Err(r.corrupt(format!("a tensor name is {name_len} bytes long")));
        }
        let mut shape = [1u64; 3];
        for s in shape.iter_mut().take(n_dims as usize) {
            let e = r.i32("in a tensor header")?;
            if e < 1 {
                return Err(r.corrupt(format!("a tensor has extent {e}")));
            }
            *s = e as u64;
        }
        let name_bytes = r.read_vec(name_len as usize, "in a tensor name")?;
        let name = String::from_utf8_lossy(&name_bytes).into_owned();
        let Some(spec) = want.remove(name.as_str()) else {
            return Err(r.corrupt(if table.iter().any(|t| t.name == name) {
                format!("tensor {name} appears twice")
            } else {
                format!("unknown tensor {name}")
            }));
        };
        if spec.shape != shape {
            return Err(r.corrupt(format!(
                "tensor {name} has shape {shape:?}, expected {:?}",
                spec.shape
            )));
        }
        let Some(file_ty) = GgmlType::from_id(ttype) else {
            return Err(r.corrupt(format!("tensor {name} has unknown type {ttype}")));
        };
        let expected = spec.ty(wtype);
        let elements = spec.elements();
        let bytes = file_ty.bytes(shape[0], elements);
        if bytes.is_none() || bytes != expected.bytes(shape[0], elements) {
            return Err(r.corrupt(format!(
                "tensor {name} is stored as {}, expected {}",
                file_ty.name(),
                expected.name()
            )));
        }
        r.skip(bytes.unwrap_or(0), &format!("in the data of tensor {name}"))?;
        seen += 1;
    }
    if seen == 0 {
        return Err(r.corrupt("the file has no tensors"));
    }
    if !want.is_empty() {
        let mut missing: Vec<&str> = want.keys().copied().collect();
        missing.sort_unstable();
        return Err(ModelFileError::Truncated {
            path: r.path.clone(),
            what: format!(
                "{} of {} tensors missing, first {}",
                missing.len(),
                table.len(),
                missing.first().copied().unwrap_or("")
            ),
        });
    }
    Ok(ModelInfo {
        hparams: h,
        weight_type: wtype,
        vocab_in_file: n_tokens as u32,
        tensors: seen,
        file_bytes: len,
    })
}

/// How [`write_synthetic`] fills the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    Zeros,
    /// Small deterministic noise (|x| ≤ 2⁻⁶), so the decoder sees varied logits.
    Noise,
}

/// A deterministic generator for the noise (xorshift64*).
struct Noise(u64);
impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// An f16 bit pattern of magnitude 2⁻¹⁰..2⁻⁶, random sign.
    fn f16(&mut self) -> u16 {
        let r = self.next();
        let sign = ((r >> 63) as u16) << 15;
        let exp = 5 + (r >> 32) as u16 % 4; // biased exponent 5..=8 → 2^-10..2^-7
        let mant = (r & 0x3ff) as u16;
        sign | (exp << 10) | mant
    }
    fn f32(&mut self) -> f32 {
        let r = self.next();
        ((r >> 40) as f32 / (1u64 << 24) as f32 - 0.5) / 32.0
    }
}

/// Writes a complete ggml Whisper model with `h`'s shapes (f16 or f32 weights only): a mel
/// filter bank, a synthetic vocabulary of `n_vocab` − 1608 entries (whisper.cpp names the special
/// and timestamp tokens itself), and every tensor of [`tensor_table`]. Layer-norm gains are 1.
pub fn write_synthetic(path: &Path, h: &Hparams, fill: Fill) -> std::io::Result<u64> {
    let wtype = h
        .weight_type()
        .filter(|t| matches!(t, GgmlType::F32 | GgmlType::F16))
        .ok_or_else(|| std::io::Error::other("synthetic models are f16 or f32"))?;
    let file = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut n = 0u64;
    let mut put = |w: &mut std::io::BufWriter<std::fs::File>, b: &[u8]| -> std::io::Result<()> {
        n += b.len() as u64;
        w.write_all(b)
    };
    put(&mut w, &GGML_MAGIC.to_le_bytes())?;
    for v in [
        h.n_vocab,
        h.n_audio_ctx,
        h.n_audio_state,
        h.n_audio_head,
        h.n_audio_layer,
        h.n_text_ctx,
        h.n_text_state,
        h.n_text_head,
        h.n_text_layer,
        h.n_mels,
        h.ftype,
    ] {
        put(&mut w, &v.to_le_bytes())?;
    }
    // Mel filters: triangular-ish bands over the 201 FFT bins so the spectrogram is not empty.
    let n_fft = 201i32;
    put(&mut w, &h.n_mels.to_le_bytes())?;
    put(&mut w, &n_fft.to_le_bytes())?;
    let mut filt = Vec::with_capacity((h.n_mels * n_fft) as usize * 4);
    for m in 0..h.n_mels {
        let centre = (m as f32 + 1.0) * n_fft as f32 / (h.n_mels as f32 + 1.0);
        for k in 0..n_fft {
            let d = (k as f32 - centre).abs();
            let v = (1.0 - d / 3.0).max(0.0) * 0.01;
            filt.extend_from_slice(&v.to_le_bytes());
        }
    }
    put(&mut w, &filt)?;
    // Vocabulary: the text tokens only (end-of-text and later are named by whisper.cpp).
    let n_text_tokens = if h.is_multilingual() { 50257 } else { 50256 };
    put(&mut w, &(n_text_tokens as i32).to_le_bytes())?;
    let syll = [
        "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "da", "en", "og", "ja",
    ];
    for i in 0..n_text_tokens {
        let a = syll[i % syll.len()];
        let b = syll[(i / syll.len()) % syll.len()];
        let tok = if i == 220 {
            " ".to_owned() // the blank token (GPT-2 id 220), which whisper.cpp requires
        } else if i % 3 == 0 {
            format!(" {a}{b}")
        } else {
            format!("{b}{a}")
        };
        put(&mut w, &(tok.len() as u32).to_le_bytes())?;
        put(&mut w, tok.as_bytes())?;
    }
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let mut buf: Vec<u8> = Vec::new();
    for t in tensor_table(h) {
        let ty = t.ty(wtype);
        let dims: usize = if t.shape[2] > 1 {
            3
        } else if t.shape[1] > 1 || t.name.ends_with("conv1.bias") || t.name.ends_with("conv2.bias")
        {
            2
        } else {
            1
        };
        put(&mut w, &(dims as i32).to_le_bytes())?;
        put(&mut w, &(t.name.len() as i32).to_le_bytes())?;
        put(&mut w, &ty.id().to_le_bytes())?;
        for e in t.shape.iter().take(dims) {
            put(&mut w, &(*e as i32).to_le_bytes())?;
        }
        put(&mut w, t.name.as_bytes())?;
        let elements = t.elements() as usize;
        let gain = t.name.ends_with("ln.weight")
            || t.name.ends_with("ln_post.weight")
            || t.name.ends_with("_ln.weight");
        buf.clear();
        match ty {
            GgmlType::F16 => {
                buf.reserve(elements * 2);
                for _ in 0..elements {
                    let v = match fill {
                        Fill::Zeros => 0u16,
                        Fill::Noise => noise.f16(),
                    };
                    buf.extend_from_slice(&v.to_le_bytes());
                }
            }
            _ => {
                buf.reserve(elements * 4);
                for _ in 0..elements {
                    let v = if gain {
                        1.0f32
                    } else {
                        match fill {
                            Fill::Zeros => 0.0,
                            Fill::Noise => noise.f32(),
                        }
                    };
                    buf.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        put(&mut w, &buf)?;
    }
    w.flush()?;
    Ok(n)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn base_has_the_real_tensor_count_and_parameter_count() {
        let t = tensor_table(&Hparams::base());
        // 7 encoder tensors + 15 per encoder block, 4 decoder tensors + 24 per decoder block.
        assert_eq!(t.len(), 7 + 6 * 15 + 4 + 6 * 24);
        let params: u64 = t.iter().map(TensorSpec::elements).sum();
        // openai/whisper `base` has 74 M parameters (72.6 M without the mel/conv buffers).
        assert!((71_000_000..75_000_000).contains(&params), "{params}");
        let tiny: u64 = tensor_table(&Hparams::tiny())
            .iter()
            .map(TensorSpec::elements)
            .sum();
        assert!((37_000_000..40_000_000).contains(&tiny), "{tiny}");
    }

    /// Real vocabulary and contexts, narrow layers: small enough to copy around in a test.
    fn mini() -> Hparams {
        Hparams {
            n_audio_state: 64,
            n_text_state: 64,
            n_audio_head: 2,
            n_text_head: 2,
            n_audio_layer: 2,
            n_text_layer: 2,
            ..Hparams::tiny()
        }
    }

    fn tiny_file(fill: Fill) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.bin");
        write_synthetic(&p, &mini(), fill).unwrap();
        std::fs::read(&p).unwrap()
    }

    fn check(bytes: &[u8]) -> Result<ModelInfo, ModelFileError> {
        inspect_reader(Cursor::new(bytes), bytes.len() as u64, "m.bin".into())
    }

    #[test]
    fn synthetic_model_inspects_clean_and_damage_is_named() {
        let good = tiny_file(Fill::Zeros);
        let info = check(&good).unwrap();
        assert_eq!(info.hparams, mini());
        assert_eq!(info.tensors, 7 + 2 * 15 + 4 + 2 * 24);
        assert_eq!(info.describe(), "unknown f16, multilingual, 89 tensors");
        assert!(check(&tiny_file(Fill::Noise)).is_ok());

        // truncated in the middle of the weights
        let e = check(&good[..good.len() / 2]).unwrap_err();
        assert!(matches!(e, ModelFileError::Truncated { .. }), "{e}");
        // truncated inside the header
        let e = check(&good[..30]).unwrap_err();
        assert!(matches!(e, ModelFileError::Truncated { .. }), "{e}");
        // bad magic, GGUF
        let mut b = good.clone();
        b[0] ^= 0xff;
        assert!(matches!(
            check(&b).unwrap_err(),
            ModelFileError::BadMagic(_)
        ));
        let mut b = good.clone();
        b[..4].copy_from_slice(b"GGUF");
        assert!(matches!(check(&b).unwrap_err(), ModelFileError::Gguf(_)));
        // absurd vocabulary size (an allocation whisper.cpp would attempt)
        let mut b = good.clone();
        b[4..8].copy_from_slice(&i32::MAX.to_le_bytes());
        assert!(matches!(
            check(&b).unwrap_err(),
            ModelFileError::Corrupt { .. }
        ));
        // text and audio widths disagree (an assertion inside whisper.cpp)
        let mut b = good.clone();
        b[4 + 4 * 6..4 + 4 * 7].copy_from_slice(&512i32.to_le_bytes());
        assert!(check(&b).unwrap_err().to_string().contains("n_text_state"));
        // unsupported ftype
        let mut b = good.clone();
        b[4 + 40..4 + 44].copy_from_slice(&5i32.to_le_bytes());
        assert!(matches!(
            check(&b).unwrap_err(),
            ModelFileError::UnsupportedType { .. }
        ));
        // trailing junk after the last tensor
        let mut b = good.clone();
        b.extend_from_slice(&[7u8; 9]);
        assert!(check(&b).is_err());
        // header only: hyper-parameters, filters, vocabulary, no tensors
        let first_tensor = {
            let name = b"encoder.positional_embedding";
            good.windows(name.len()).position(|w| w == name).unwrap() - 4 * 5
        };
        let e = check(&good[..first_tensor]).unwrap_err();
        assert!(e.to_string().contains("no tensors"), "{e}");
    }

    #[test]
    fn shapes_are_checked_tensor_by_tensor() {
        let good = tiny_file(Fill::Zeros);
        let name = b"decoder.token_embedding.weight";
        let at = good.windows(name.len()).position(|w| w == name).unwrap();
        // the header before the name: n_dims, name_len, type, ne0, ne1
        let mut b = good.clone();
        b[at - 4..at].copy_from_slice(&51_000i32.to_le_bytes());
        let e = check(&b).unwrap_err().to_string();
        assert!(e.contains("decoder.token_embedding.weight"), "{e}");
        let mut b = good.clone();
        b[at - 12..at - 8].copy_from_slice(&0i32.to_le_bytes()); // stored as f32
        let e = check(&b).unwrap_err().to_string();
        assert!(e.contains("stored as f32"), "{e}");
        let mut b = good;
        b[at] = b'x';
        assert!(check(&b)
            .unwrap_err()
            .to_string()
            .contains("unknown tensor"));
    }

    #[test]
    fn missing_file_is_not_found() {
        let e = inspect(Path::new("/nonexistent/ggml-base.bin")).unwrap_err();
        assert!(matches!(e, ModelFileError::NotFound(_)));
    }
}
