//! What the sync tests and benchmarks share: an organisation with one team on a server, codes to
//! enrol its nurses, and the shift that benchmarks sync (20 patients, 3 sets and a note each).

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use doorstep_core::PatientId;
use doorstep_core::observation::Role;
use doorstep_core::store::{Session, StoreError};
use doorstep_core::vitals::VitalsInput;
use doorstep_transport::{AdminClient, TransportError};

/// The administrator's passphrase in every test organisation.
pub const ADMIN_PASSPHRASE: &str = "ambridge admin passphrase";
/// The one team of a test organisation.
pub const TEAM: &str = "north";

/// An organisation registered with the server at `url`, its admin state in `admin_dir`, with the
/// team [`TEAM`].
pub fn organisation(
    admin_dir: &Path,
    url: &str,
    name: &str,
) -> Result<AdminClient, TransportError> {
    doorstep_transport::install_crypto_provider();
    let mut admin = AdminClient::init(admin_dir, ADMIN_PASSPHRASE, url, name)?;
    admin.create_team(admin_dir, ADMIN_PASSPHRASE, TEAM)?;
    Ok(admin)
}

/// A one-time code enrolling a nurse called `user` into [`TEAM`].
pub fn nurse_code(admin: &AdminClient, user: &str) -> Result<String, TransportError> {
    Ok(admin.enrolment_code(TEAM, user, Role::Nurse)?.code)
}

/// A shift on `session`'s device: for each patient, 3 complete sets 160 minutes apart (from
/// `start`, staggered by 20 minutes per patient) and a visit note.
pub fn record_shift(
    session: &Session,
    patients: &[PatientId],
    start: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (input, _) = VitalsInput::from_json(
        r#"{"respiration_rate": 20, "spo2": 95, "on_oxygen": false, "systolic_bp": 118, "pulse": 92, "consciousness": "A", "temperature": 37.8}"#,
    )?;
    for (n, id) in patients.iter().enumerate() {
        for visit in 0..3 {
            let at = start + Duration::minutes((n * 20 + visit * 160) as i64);
            session.record_observation(*id, &input, Some(at))?;
        }
        session.add_note(
            *id,
            "Visited; dressing renewed, observations stable, family updated on plan.",
        )?;
    }
    Ok(())
}
