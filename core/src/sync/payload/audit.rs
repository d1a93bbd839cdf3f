//! What an audit unit carries: the device's audit entries since its last upload, as JSON,
//! compressed with the sync dictionary ([`super::compress`]).
//!
//! Each entry's link to the one before (`previous_hash`, 32 random-looking bytes that no
//! compressor can shrink) is left out when the entry before travels in the same unit: the reader
//! recomputes it, so the organisation's copy holds exactly the device's chain. Units from before
//! hold plain or gzip-compressed JSON with every link, and still read.

use std::io::Read as _;

use serde_json::Value;

use crate::store::AuditEntry;
use crate::store::audit_hash;

/// The gzip magic number: plain JSON starts with `[`, never with these bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const LINK: &str = "previous_hash";

#[derive(Debug, thiserror::Error)]
#[error("an audit unit's contents are malformed")]
pub struct MalformedAudit;

/// The bytes an audit unit seals for `entries`.
pub fn encode(entries: &[AuditEntry]) -> Result<Vec<u8>, MalformedAudit> {
    super::compress(&encode_json(entries)?).map_err(|_| MalformedAudit)
}

/// The entries as JSON, each link left out where the entry before gives it.
pub(super) fn encode_json(entries: &[AuditEntry]) -> Result<Vec<u8>, MalformedAudit> {
    let mut out = Vec::with_capacity(entries.len());
    let mut previous: Option<&AuditEntry> = None;
    for entry in entries {
        let mut value = serde_json::to_value(entry).map_err(|_| MalformedAudit)?;
        let recomputable = match previous {
            Some(before) => audit_hash(before).map_err(|_| MalformedAudit)? == entry.previous_hash,
            None => false,
        };
        if recomputable && let Value::Object(fields) = &mut value {
            fields.remove(LINK);
        }
        out.push(value);
        previous = Some(entry);
    }
    serde_json::to_vec(&out).map_err(|_| MalformedAudit)
}

/// The entries an opened audit unit holds, with every link.
pub fn decode(bytes: &[u8]) -> Result<Vec<AuditEntry>, MalformedAudit> {
    let json = super::decompress(bytes).map_err(|_| MalformedAudit)?;
    let json = if json.starts_with(&GZIP_MAGIC) {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(json.as_ref())
            // An audit unit is a sync's worth of entries: far below this, and a forged unit
            // cannot inflate into memory without bound.
            .take(super::MAX_PAYLOAD_BYTES as u64)
            .read_to_end(&mut plain)
            .map_err(|_| MalformedAudit)?;
        plain
    } else {
        json.into_owned()
    };
    let values: Vec<Value> = serde_json::from_slice(&json).map_err(|_| MalformedAudit)?;
    let mut entries: Vec<AuditEntry> = Vec::with_capacity(values.len());
    for mut value in values {
        if let Value::Object(fields) = &mut value
            && !fields.contains_key(LINK)
        {
            // Only the first entry of a unit must carry its link: there is nothing to recompute
            // it from.
            let before = entries.last().ok_or(MalformedAudit)?;
            let link = audit_hash(before).map_err(|_| MalformedAudit)?;
            fields.insert(LINK.to_owned(), Value::String(link));
        }
        entries.push(serde_json::from_value(value).map_err(|_| MalformedAudit)?);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{DeviceId, PatientId, UserId};
    use crate::observation::Role;
    use crate::store::{AuditAction, AuditEvent};

    fn entries(count: u64) -> Vec<AuditEntry> {
        (1..=count)
            .map(|seq| AuditEntry {
                seq,
                event: AuditEvent {
                    at: chrono::Utc::now(),
                    user: UserId::from_u128(1),
                    role: Role::Nurse,
                    device: DeviceId::from_u128(2),
                    patient: Some(PatientId::from_u128(u128::from(seq))),
                    action: AuditAction::RecordObservation,
                    reason: None,
                },
                previous_hash: format!("{seq:064x}"),
            })
            .collect()
    }

    /// A chain as a device makes it: each entry links to the one before.
    fn chained(count: u64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for mut entry in entries(count) {
            if let Some(before) = out.last() {
                entry.previous_hash = audit_hash(before).unwrap();
            }
            out.push(entry);
        }
        out
    }

    #[test]
    fn entries_come_back_as_they_went_compressed_or_plain() {
        let written = chained(120);
        let encoded = encode(&written).unwrap();
        let plain = serde_json::to_vec(&written).unwrap();
        assert!(
            encoded.len() * 5 < plain.len(),
            "{} vs {}",
            encoded.len(),
            plain.len()
        );
        assert_eq!(decode(&encoded).unwrap(), written);
        assert_eq!(
            decode(&plain).unwrap(),
            written,
            "units from before compression"
        );
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gzip, &plain).unwrap();
        assert_eq!(
            decode(&gzip.finish().unwrap()).unwrap(),
            written,
            "units from before the dictionary"
        );
        assert!(decode(b"\x1f\x8bnot gzip").is_err());
    }

    #[test]
    fn a_link_that_does_not_follow_from_the_entry_before_travels_as_it_is() {
        // A broken chain must reach the organisation broken, not mended by recomputation.
        let mut written = chained(5);
        written[3].previous_hash = "0".repeat(64);
        assert_eq!(decode(&encode(&written).unwrap()).unwrap(), written);
    }

    #[test]
    fn a_first_entry_without_its_link_is_refused() {
        let mut value = serde_json::to_value(chained(1)).unwrap();
        value[0].as_object_mut().unwrap().remove(LINK);
        let bytes = super::super::compress(&serde_json::to_vec(&value).unwrap()).unwrap();
        assert!(decode(&bytes).is_err());
    }
}
