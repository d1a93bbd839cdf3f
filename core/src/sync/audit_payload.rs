//! What an audit unit carries: the device's audit entries since its last upload, as JSON,
//! compressed before sealing (ciphertext does not compress; the entries, with their repeated
//! names, devices and hashes, shrink about fourfold). Units written before compression hold the
//! plain JSON and still read.

use std::io::{Read as _, Write as _};

use crate::store::AuditEntry;

/// The gzip magic number: plain JSON starts with `[`, never with these bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

#[derive(Debug, thiserror::Error)]
#[error("an audit unit's contents are malformed")]
pub struct MalformedAudit;

/// The bytes an audit unit seals for `entries`.
pub fn encode(entries: &[AuditEntry]) -> Result<Vec<u8>, MalformedAudit> {
    let json = serde_json::to_vec(entries).map_err(|_| MalformedAudit)?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&json).map_err(|_| MalformedAudit)?;
    encoder.finish().map_err(|_| MalformedAudit)
}

/// The entries an opened audit unit holds, compressed or (from before compression) plain.
pub fn decode(bytes: &[u8]) -> Result<Vec<AuditEntry>, MalformedAudit> {
    if bytes.starts_with(&GZIP_MAGIC) {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            // An audit unit is a sync's worth of entries: far below this, and a forged unit
            // cannot inflate into memory without bound.
            .take(64 * 1024 * 1024)
            .read_to_end(&mut json)
            .map_err(|_| MalformedAudit)?;
        serde_json::from_slice(&json).map_err(|_| MalformedAudit)
    } else {
        serde_json::from_slice(bytes).map_err(|_| MalformedAudit)
    }
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

    #[test]
    fn entries_come_back_as_they_went_compressed_or_plain() {
        let written = entries(120);
        let encoded = encode(&written).unwrap();
        let plain = serde_json::to_vec(&written).unwrap();
        assert!(
            encoded.len() * 3 < plain.len(),
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
        assert!(decode(b"\x1f\x8bnot gzip").is_err());
    }
}
