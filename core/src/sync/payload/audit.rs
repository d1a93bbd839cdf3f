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

/// Where a device's synced audit trail does not hold together, as the organisation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailBreak {
    /// Entries `from..=to` of the device never arrived (withheld, or in a unit that was refused).
    Missing {
        device: crate::DeviceId,
        from: u64,
        to: u64,
    },
    /// Entry `seq` does not link to the entry before it: one of the two was altered.
    Link { device: crate::DeviceId, seq: u64 },
}

/// Checks each device's entries (in any order) for gaps in their sequence numbers and for links
/// that do not follow from the entry before.
pub fn trail_breaks<'a>(entries: impl IntoIterator<Item = &'a AuditEntry>) -> Vec<TrailBreak> {
    let mut by_device: std::collections::BTreeMap<crate::DeviceId, Vec<&AuditEntry>> =
        std::collections::BTreeMap::new();
    for entry in entries {
        by_device.entry(entry.device).or_default().push(entry);
    }
    let mut breaks = Vec::new();
    for (device, mut trail) in by_device {
        trail.sort_by_key(|entry| entry.seq);
        trail.dedup_by_key(|entry| entry.seq);
        let mut before: Option<&AuditEntry> = None;
        for entry in trail {
            let expected = before.map_or(1, |before| before.seq + 1);
            if entry.seq > expected {
                breaks.push(TrailBreak::Missing {
                    device,
                    from: expected,
                    to: entry.seq - 1,
                });
            } else {
                let link = match before {
                    Some(before) => audit_hash(before).ok(),
                    None => Some(crate::store::AUDIT_GENESIS.to_owned()),
                };
                if link.as_deref() != Some(entry.previous_hash.as_str()) {
                    breaks.push(TrailBreak::Link {
                        device,
                        seq: entry.seq,
                    });
                }
            }
            before = Some(entry);
        }
    }
    breaks
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
            entry.previous_hash = match out.last() {
                Some(before) => audit_hash(before).unwrap(),
                None => crate::store::AUDIT_GENESIS.to_owned(),
            };
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

    #[test]
    fn the_organisation_finds_missing_entries_and_broken_links() {
        let trail = chained(6);
        assert_eq!(trail_breaks(&trail), vec![]);
        let device = trail[0].device;
        let mut gapped = trail.clone();
        gapped.remove(2);
        gapped.remove(2);
        assert_eq!(
            trail_breaks(&gapped),
            vec![TrailBreak::Missing {
                device,
                from: 3,
                to: 4
            }]
        );
        let mut altered = trail.clone();
        altered[3].event.reason = Some("edited afterwards".to_owned());
        assert_eq!(
            trail_breaks(&altered),
            vec![TrailBreak::Link { device, seq: 5 }]
        );
        assert_eq!(
            trail_breaks(&trail[1..]),
            vec![TrailBreak::Missing {
                device,
                from: 1,
                to: 1
            }]
        );
    }
}
