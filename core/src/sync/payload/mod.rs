//! What a unit seals, made small before sealing (ciphertext does not compress).
//!
//! A record unit carries Automerge bytes: a whole document saved without Automerge's own column
//! compression, or a run of raw changes. An audit unit carries the device's audit entries. Both
//! are compressed with zstd against one dictionary trained on synthetic records and audit trails
//! (`records-v1.zdict`, made by `training::train_the_dictionary`): the record schema's keys, the
//! NEWS2 words and the Automerge layout are then already known to both ends, so a new patient
//! with three sets travels in about half the bytes of Automerge's own compressed save. The
//! dictionary holds no patient text (its free text was random letters) and never changes: a new
//! one would get a new format byte, and units made with this one must stay readable.
//!
//! Format: one byte [`ZSTD_V1`], then a zstd frame (content size included, no checksum: the AEAD
//! already authenticates every byte). Units from before compression start with Automerge's magic
//! bytes or audit JSON, never with that byte, and read as they are.

pub mod audit;
pub mod bundle;
#[cfg(test)]
mod training;

use std::borrow::Cow;
use std::sync::OnceLock;

use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};
use zstd::zstd_safe::CParameter;

/// The dictionary every device compresses sync payloads against. Its SHA-256 is pinned by a test.
pub(crate) const DICTIONARY_V1: &[u8] = include_bytes!("records-v1.zdict");

/// The format byte of a payload compressed against [`DICTIONARY_V1`]. Automerge documents and
/// changes start with 0x85, gzip with 0x1f, audit JSON with `[`.
pub const ZSTD_V1: u8 = 0x01;

/// The most a payload may expand to: one record's document (a record with 10,000 observation sets
/// is about 10 MB uncompressed) or one sync's audit. A frame declaring more is refused before any
/// memory is taken, and a device expands one unit at a time, so a member sending many units at
/// the limit costs its colleagues time, never all their memory.
pub const MAX_PAYLOAD_BYTES: usize = 32 * 1024 * 1024;

/// Payloads up to this size are compressed at zstd's strongest practical level (a shift's
/// record: about a millisecond); larger ones (a year of history, sent once) at a level that
/// keeps a 1,000-patient first upload's compression well under a second, for a few percent more
/// bytes.
const SMALL_PAYLOAD_BYTES: usize = 16 * 1024;
const SMALL_LEVEL: i32 = 19;
const LARGE_LEVEL: i32 = 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("a sync payload could not be compressed")]
    Compress,
    #[error("a record is too large to sync in one unit")]
    TooLarge,
    #[error("a sync payload is malformed or larger than any record")]
    Malformed,
}

fn encoder(level: i32) -> &'static EncoderDictionary<'static> {
    static SMALL: OnceLock<EncoderDictionary<'static>> = OnceLock::new();
    static LARGE: OnceLock<EncoderDictionary<'static>> = OnceLock::new();
    let cell = if level == SMALL_LEVEL { &SMALL } else { &LARGE };
    cell.get_or_init(|| EncoderDictionary::copy(DICTIONARY_V1, level))
}

fn decoder() -> &'static DecoderDictionary<'static> {
    static DECODER: OnceLock<DecoderDictionary<'static>> = OnceLock::new();
    DECODER.get_or_init(|| DecoderDictionary::copy(DICTIONARY_V1))
}

/// `raw` as a unit seals it; refused above [`MAX_PAYLOAD_BYTES`], which every reader would refuse.
pub fn compress(raw: &[u8]) -> Result<Vec<u8>, PayloadError> {
    if raw.len() > MAX_PAYLOAD_BYTES {
        return Err(PayloadError::TooLarge);
    }
    let level = if raw.len() <= SMALL_PAYLOAD_BYTES {
        SMALL_LEVEL
    } else {
        LARGE_LEVEL
    };
    let mut compressor =
        Compressor::with_prepared_dictionary(encoder(level)).map_err(|_| PayloadError::Compress)?;
    // The dictionary is fixed by the format byte; its id in every frame would be 4 wasted bytes.
    compressor
        .set_parameter(CParameter::DictIdFlag(false))
        .map_err(|_| PayloadError::Compress)?;
    compressor
        .set_parameter(CParameter::ChecksumFlag(false))
        .map_err(|_| PayloadError::Compress)?;
    compressor
        .set_parameter(CParameter::ContentSizeFlag(true))
        .map_err(|_| PayloadError::Compress)?;
    let frame = compressor
        .compress(raw)
        .map_err(|_| PayloadError::Compress)?;
    let mut out = Vec::with_capacity(frame.len() + 1);
    out.push(ZSTD_V1);
    out.extend_from_slice(&frame);
    Ok(out)
}

/// The size a compressed payload declares, if it declares one within [`MAX_PAYLOAD_BYTES`].
fn declared_size(frame: &[u8]) -> Option<usize> {
    zstd::zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
        .and_then(|size| usize::try_from(size).ok())
        .filter(|size| *size <= MAX_PAYLOAD_BYTES)
}

/// False for a compressed payload that declares no size or more than [`MAX_PAYLOAD_BYTES`]: it
/// can be refused without expanding anything. Uncompressed payloads (from before) pass.
pub fn within_limit(sealed: &[u8]) -> bool {
    match sealed.split_first() {
        Some((&ZSTD_V1, frame)) => declared_size(frame).is_some(),
        _ => true,
    }
}

/// The bytes an opened payload takes once expanded: what it declares, or its own length for one
/// from before compression.
pub fn expanded_size(sealed: &[u8]) -> usize {
    match sealed.split_first() {
        Some((&ZSTD_V1, frame)) => declared_size(frame).unwrap_or(0),
        _ => sealed.len(),
    }
}

/// What an opened unit carries: decompressed, or as it is for a unit from before compression.
pub fn decompress(sealed: &[u8]) -> Result<Cow<'_, [u8]>, PayloadError> {
    let Some((&ZSTD_V1, frame)) = sealed.split_first() else {
        return Ok(Cow::Borrowed(sealed));
    };
    let declared = declared_size(frame).ok_or(PayloadError::Malformed)?;
    let mut decompressor =
        Decompressor::with_prepared_dictionary(decoder()).map_err(|_| PayloadError::Malformed)?;
    let raw = decompressor
        .decompress(frame, declared)
        .map_err(|_| PayloadError::Malformed)?;
    if raw.len() != declared {
        return Err(PayloadError::Malformed);
    }
    Ok(Cow::Owned(raw))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_dictionary_is_the_one_every_device_was_built_with() {
        // Changing these bytes would make every unit compressed before unreadable.
        assert_eq!(
            crate::crypto::hex(&crate::crypto::sha256(&[DICTIONARY_V1])),
            PINNED_DICTIONARY_SHA256
        );
    }

    const PINNED_DICTIONARY_SHA256: &str =
        "27edc406964039f98d4dbb7d9de5c90984924341b62e578a1638f65fb9ea7094";

    #[test]
    fn payloads_from_before_compression_read_as_they_are() {
        let automerge = [0x85, 0x6f, 0x4a, 0x83, 1, 2, 3];
        assert_eq!(decompress(&automerge).unwrap().as_ref(), automerge);
        assert_eq!(decompress(b"[]").unwrap().as_ref(), b"[]");
        assert_eq!(decompress(b"").unwrap().as_ref(), b"");
    }

    #[test]
    fn a_frame_declaring_more_than_any_record_is_refused_before_it_is_expanded() {
        let mut compressor = Compressor::new(1).unwrap();
        let big = vec![0u8; MAX_PAYLOAD_BYTES + 1];
        let mut bomb = vec![ZSTD_V1];
        bomb.extend(compressor.compress(&big).unwrap());
        assert!(bomb.len() < 64 * 1024, "a small frame");
        assert_eq!(decompress(&bomb), Err(PayloadError::Malformed));
        assert!(!within_limit(&bomb));
        assert_eq!(
            compress(&big),
            Err(PayloadError::TooLarge),
            "nothing a reader would refuse is sent"
        );
        assert_eq!(decompress(&[ZSTD_V1]), Err(PayloadError::Malformed));
        assert_eq!(
            decompress(&[ZSTD_V1, 0x28, 0xb5, 0x2f, 0xfd, 0, 0]),
            Err(PayloadError::Malformed)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever goes in comes back, small or large; and no bytes after the format byte make
        /// the decoder panic.
        #[test]
        fn compressing_is_lossless(raw in prop::collection::vec(any::<u8>(), 0..40_000), noise in prop::collection::vec(any::<u8>(), 0..300)) {
            let sealed = compress(&raw).unwrap();
            prop_assert_eq!(sealed[0], ZSTD_V1);
            let back = decompress(&sealed).unwrap();
            prop_assert_eq!(back.as_ref(), raw.as_slice());
            let mut forged = vec![ZSTD_V1];
            forged.extend(noise);
            let _ = decompress(&forged);
        }
    }
}
