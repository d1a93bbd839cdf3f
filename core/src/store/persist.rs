//! Reading and writing sealed documents and summaries. Each function works inside the caller's
//! transaction; rows are sealed with their identity (`doc-chunk/<patient>/<seq>`, ...) as
//! associated data, so a blob moved to another row no longer opens.

use automerge::ActorId;
use rusqlite::{Connection, OptionalExtension, params};

use super::error::{Result, StoreError};
use super::record::RecordDoc;
use super::summary::PatientSummary;
use crate::crypto::{self, DataKey};
use crate::ids::PatientId;

/// After this many incremental chunks a document is compacted into one snapshot.
pub const COMPACT_AFTER_CHUNKS: u64 = 64;

fn chunk_row(patient: PatientId, seq: u64) -> String {
    format!("doc-chunk/{patient}/{seq}")
}

fn snapshot_row(patient: PatientId, generation: u64) -> String {
    format!("doc-snapshot/{patient}/{generation}")
}

fn summary_row(patient: PatientId) -> String {
    format!("summary/{patient}")
}

/// Where a document's stored form stands, to know what to write next.
#[derive(Debug, Clone, Copy, Default)]
pub struct DocState {
    pub generation: u64,
    pub last_seq: u64,
    pub chunks: u64,
}

/// A loaded document with its storage position.
#[derive(Debug)]
pub struct LoadedDoc {
    pub doc: RecordDoc,
    pub state: DocState,
}

pub fn load_doc(
    connection: &Connection,
    key: &DataKey,
    patient: PatientId,
    actor: ActorId,
) -> Result<LoadedDoc> {
    let snapshot: Option<(u64, Vec<u8>)> = connection
        .query_row(
            "SELECT generation, sealed FROM doc_snapshots WHERE patient_id = ?1",
            params![patient.to_string()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((generation, sealed_snapshot)) = snapshot else {
        return Err(StoreError::PatientNotFound);
    };
    let snapshot = crypto::open(key, &snapshot_row(patient, generation), &sealed_snapshot)
        .map_err(|_| StoreError::Tampered { what: "record" })?;

    let mut statement = connection
        .prepare_cached("SELECT seq, sealed FROM doc_chunks WHERE patient_id = ?1 ORDER BY seq")?;
    let rows = statement.query_map(params![patient.to_string()], |row| {
        Ok((row.get::<_, u64>(0)?, row.get::<_, Vec<u8>>(1)?))
    })?;
    let mut chunks = Vec::new();
    let mut last_seq = 0;
    for row in rows {
        let (seq, sealed) = row?;
        chunks.push(
            crypto::open(key, &chunk_row(patient, seq), &sealed)
                .map_err(|_| StoreError::Tampered { what: "record" })?,
        );
        last_seq = seq;
    }
    let doc = RecordDoc::load(
        actor,
        Some(snapshot.as_slice()),
        chunks.iter().map(|chunk| chunk.as_slice()),
    )?;
    Ok(LoadedDoc {
        doc,
        state: DocState {
            generation,
            last_seq,
            chunks: chunks.len() as u64,
        },
    })
}

/// Writes a brand-new document as its first snapshot.
pub fn insert_doc(
    connection: &Connection,
    key: &DataKey,
    patient: PatientId,
    doc: &mut RecordDoc,
) -> Result<()> {
    let bytes = doc.save();
    connection.execute(
        "INSERT INTO doc_snapshots (patient_id, generation, sealed) VALUES (?1, 0, ?2)",
        params![
            patient.to_string(),
            crypto::seal(key, &snapshot_row(patient, 0), &bytes)?
        ],
    )?;
    Ok(())
}

/// Appends the document's unsaved changes as one sealed chunk, or compacts the document into a
/// new snapshot once it has [`COMPACT_AFTER_CHUNKS`] chunks.
pub fn append_changes(
    connection: &Connection,
    key: &DataKey,
    patient: PatientId,
    loaded: &mut LoadedDoc,
) -> Result<()> {
    let state = &mut loaded.state;
    if state.chunks + 1 >= COMPACT_AFTER_CHUNKS {
        let bytes = loaded.doc.save();
        let generation = state.generation + 1;
        connection.execute(
            "UPDATE doc_snapshots SET generation = ?2, sealed = ?3 WHERE patient_id = ?1",
            params![
                patient.to_string(),
                generation,
                crypto::seal(key, &snapshot_row(patient, generation), &bytes)?
            ],
        )?;
        connection.execute(
            "DELETE FROM doc_chunks WHERE patient_id = ?1",
            params![patient.to_string()],
        )?;
        // Sequence numbers keep rising across compactions so an old chunk can never be replayed
        // into a later position.
        *state = DocState {
            generation,
            last_seq: state.last_seq,
            chunks: 0,
        };
        return Ok(());
    }
    let bytes = loaded.doc.save_incremental();
    if bytes.is_empty() {
        return Ok(());
    }
    let seq = state.last_seq + 1;
    connection
        .prepare_cached("INSERT INTO doc_chunks (patient_id, seq, sealed) VALUES (?1, ?2, ?3)")?
        .execute(params![
            patient.to_string(),
            seq,
            crypto::seal(key, &chunk_row(patient, seq), &bytes)?
        ])?;
    state.last_seq = seq;
    state.chunks += 1;
    Ok(())
}

pub fn write_summary(
    connection: &Connection,
    key: &DataKey,
    summary: &PatientSummary,
) -> Result<()> {
    let plain =
        serde_json::to_vec(summary).map_err(|_| StoreError::Tampered { what: "summary" })?;
    connection
        .prepare_cached(
            "INSERT INTO summaries (patient_id, sealed) VALUES (?1, ?2)
             ON CONFLICT (patient_id) DO UPDATE SET sealed = excluded.sealed",
        )?
        .execute(params![
            summary.id.to_string(),
            crypto::seal(key, &summary_row(summary.id), &plain)?
        ])?;
    Ok(())
}

pub fn read_summaries(connection: &Connection, key: &DataKey) -> Result<Vec<PatientSummary>> {
    let mut statement = connection.prepare("SELECT patient_id, sealed FROM summaries")?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?))
    })?;
    let mut summaries = Vec::new();
    for row in rows {
        let (patient, sealed) = row?;
        let tampered = || StoreError::Tampered { what: "summary" };
        let plain =
            crypto::open(key, &format!("summary/{patient}"), &sealed).map_err(|_| tampered())?;
        let summary: PatientSummary = serde_json::from_slice(&plain).map_err(|_| tampered())?;
        if summary.id.to_string() != patient {
            return Err(tampered());
        }
        summaries.push(summary);
    }
    Ok(summaries)
}

/// Notes that a document has changes the sync server has not seen.
pub fn mark_dirty(connection: &Connection, patient: PatientId) -> Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO dirty_docs (patient_id) VALUES (?1)
             ON CONFLICT (patient_id) DO UPDATE SET generation = generation + 1",
        )?
        .execute(params![patient.to_string()])?;
    Ok(())
}

/// True when a document has changes the sync server has not seen.
pub fn is_dirty(connection: &Connection, patient: PatientId) -> Result<bool> {
    Ok(connection
        .prepare_cached("SELECT 1 FROM dirty_docs WHERE patient_id = ?1")?
        .query_row(params![patient.to_string()], |_| Ok(()))
        .optional()?
        .is_some())
}
