//! Several records the server has never seen, sealed as one unit.
//!
//! A shift's new patients each went as a unit of their own: one Ed25519 signature, one nonce and
//! tag, one header, and a compression context that knew only the dictionary. Sealed together they
//! share all of that, and each record compresses against the ones before it. Only whole documents
//! travel in a bundle (a record's first upload), so no part ever waits on a change it builds on,
//! and a part is checked on arrival exactly as a unit of that record's changes would be.
//!
//! The bundle's header names a random id, not its records: the server cannot tell which records
//! are inside, and keeps the bundle whole (a snapshot never covers it; applying a record's first
//! document again after its snapshot changes nothing).
//!
//! Layout before compression: per part, the record's 16-byte id, its length as a little-endian
//! `u32`, then its document.

use super::PayloadError;
use crate::ids::PatientId;

/// A record whose document is larger than this goes in a unit of its own: a bundle is for a
/// shift's new patients, not a year's imported history.
pub const MAX_PART_BYTES: usize = 64 * 1024;

/// A device fills a bundle up to this many bytes of documents.
pub const MAX_BUNDLE_BYTES: usize = 256 * 1024;

/// The most an arriving bundle may expand to, refused unexpanded above it: twice what a device
/// makes, so a member cannot make colleagues hold a payload-limit's worth per bundle.
pub const MAX_BUNDLE_EXPANDED: usize = 2 * MAX_BUNDLE_BYTES;

/// The most parts an arriving bundle may hold (a device's bundle of 256 KiB holds about a
/// hundred new records): each part is a record to load and check.
pub const MAX_PARTS: usize = 1024;

const ID_BYTES: usize = 16;
const LENGTH_BYTES: usize = 4;

/// The bytes a bundle of `parts` seals, before compression.
pub fn encode(parts: &[(PatientId, &[u8])]) -> Result<Vec<u8>, PayloadError> {
    let total = parts
        .iter()
        .map(|(_, doc)| ID_BYTES + LENGTH_BYTES + doc.len())
        .sum();
    let mut out = Vec::with_capacity(total);
    for (patient, doc) in parts {
        let length = u32::try_from(doc.len()).map_err(|_| PayloadError::TooLarge)?;
        out.extend_from_slice(patient.as_uuid().as_bytes());
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(doc);
    }
    Ok(out)
}

/// The parts of an expanded bundle. Refused: no parts, more than [`MAX_PARTS`], an empty part, a
/// record named twice, or bytes that do not divide into parts exactly.
pub fn decode(raw: &[u8]) -> Result<Vec<(PatientId, &[u8])>, PayloadError> {
    let mut parts: Vec<(PatientId, &[u8])> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut rest = raw;
    while !rest.is_empty() {
        if parts.len() == MAX_PARTS {
            return Err(PayloadError::Malformed);
        }
        let (id, after_id) = rest
            .split_first_chunk::<ID_BYTES>()
            .ok_or(PayloadError::Malformed)?;
        let (length, after_length) = after_id
            .split_first_chunk::<LENGTH_BYTES>()
            .ok_or(PayloadError::Malformed)?;
        let length =
            usize::try_from(u32::from_le_bytes(*length)).map_err(|_| PayloadError::Malformed)?;
        if length == 0 || length > after_length.len() {
            return Err(PayloadError::Malformed);
        }
        let (doc, after_doc) = after_length.split_at(length);
        let patient = PatientId::from_u128(u128::from_be_bytes(*id));
        if !seen.insert(patient) {
            return Err(PayloadError::Malformed);
        }
        parts.push((patient, doc));
        rest = after_doc;
    }
    if parts.is_empty() {
        return Err(PayloadError::Malformed);
    }
    Ok(parts)
}

/// Groups documents, in order, into bundles of at most [`MAX_BUNDLE_BYTES`] (a document larger
/// than [`MAX_PART_BYTES`] stands alone): the index ranges of `sizes` that go together.
pub fn plan(sizes: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    let mut filled = 0;
    for (index, size) in sizes.iter().copied().enumerate() {
        let alone = size > MAX_PART_BYTES;
        let full = filled + size > MAX_BUNDLE_BYTES || index - start == MAX_PARTS;
        if index > start && (alone || full) {
            groups.push(start..index);
            start = index;
            filled = 0;
        }
        filled += size;
        if alone {
            groups.push(start..index + 1);
            start = index + 1;
            filled = 0;
        }
    }
    if start < sizes.len() {
        groups.push(start..sizes.len());
    }
    groups
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn malformed_bundles_are_refused() {
        let a = PatientId::random();
        let doc: &[u8] = b"doc";
        let good = encode(&[(a, doc)]).unwrap();
        assert_eq!(decode(&good).unwrap(), vec![(a, doc)]);
        assert_eq!(decode(b""), Err(PayloadError::Malformed), "no parts");
        assert_eq!(
            decode(&good[..good.len() - 1]),
            Err(PayloadError::Malformed),
            "cut short"
        );
        let twice = encode(&[(a, doc), (a, doc)]).unwrap();
        assert_eq!(
            decode(&twice),
            Err(PayloadError::Malformed),
            "a record twice"
        );
        let empty = encode(&[(a, b"")]).unwrap();
        assert_eq!(
            decode(&empty),
            Err(PayloadError::Malformed),
            "an empty part"
        );
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            decode(&trailing),
            Err(PayloadError::Malformed),
            "trailing bytes"
        );
        let ids: Vec<PatientId> = (0..=MAX_PARTS).map(|_| PatientId::random()).collect();
        let many: Vec<(PatientId, &[u8])> = ids.iter().map(|id| (*id, doc)).collect();
        assert_eq!(
            decode(&encode(&many).unwrap()),
            Err(PayloadError::Malformed),
            "more parts than any device makes"
        );
        assert_eq!(
            decode(&encode(&many[1..]).unwrap()).unwrap().len(),
            MAX_PARTS
        );
    }

    #[test]
    fn a_large_record_stands_alone_and_bundles_stay_within_their_size() {
        let big = MAX_PART_BYTES + 1;
        assert_eq!(plan(&[]), Vec::<std::ops::Range<usize>>::new());
        assert_eq!(plan(&[10, 10, 10]), vec![0..3]);
        assert_eq!(plan(&[10, big, 10, 10]), vec![0..1, 1..2, 2..4]);
        assert_eq!(plan(&[big, big]), vec![0..1, 1..2]);
        let full = MAX_BUNDLE_BYTES / 4;
        assert_eq!(
            plan(&[full, full, full, full, full, 1]),
            vec![0..4, 4..6],
            "a bundle is closed when the next document would overfill it"
        );
    }

    proptest! {
        #[test]
        fn what_is_bundled_comes_back_in_order(
            docs in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 1..20),
            noise in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let ids: Vec<PatientId> = docs.iter().map(|_| PatientId::random()).collect();
            let parts: Vec<(PatientId, &[u8])> =
                ids.iter().copied().zip(docs.iter().map(Vec::as_slice)).collect();
            let raw = encode(&parts).unwrap();
            prop_assert_eq!(decode(&raw).unwrap(), parts);
            let _ = decode(&noise);
        }

        #[test]
        fn planning_keeps_every_document_once_in_order(
            sizes in prop::collection::vec(1usize..(MAX_PART_BYTES * 2), 0..60),
        ) {
            let groups = plan(&sizes);
            let flat: Vec<usize> = groups.iter().cloned().flatten().collect();
            prop_assert_eq!(flat, (0..sizes.len()).collect::<Vec<_>>());
            for group in groups {
                let total: usize = sizes[group.clone()].iter().sum();
                prop_assert!(group.len() == 1 || total <= MAX_BUNDLE_BYTES);
                prop_assert!(group.len() <= MAX_PARTS);
                prop_assert!(group.len() == 1 || sizes[group].iter().all(|size| *size <= MAX_PART_BYTES));
            }
        }
    }
}
