//! What the sync tests and benchmarks share: an organisation with one team on a server, codes to
//! enrol its nurses, and the shift that benchmarks sync (20 patients, 3 sets and a note each).

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use doorstep_core::PatientId;
use doorstep_core::observation::Role;
use doorstep_core::store::{Session, StoreError};
use doorstep_core::vitals::VitalsInput;
use doorstep_transport::{AdminClient, TransportError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

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

/// How a shift's free text is written: from the fixtures' phrase banks (what a nurse's notes
/// and a caseload's names look like, repeating as real ones do), or random letters that never
/// repeat (the worst case for compression, which the dictionary was trained on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftText {
    Fixtures,
    RandomLetters,
}

/// Random lower-case words of the same total length as `like`.
pub fn random_letters(rng: &mut ChaCha8Rng, like: &str) -> String {
    let length = like.chars().count();
    (0..length)
        .map(|index| {
            if index % 7 == 6 {
                ' '
            } else {
                char::from(b'a' + rng.random_range(0..26u8))
            }
        })
        .collect()
}

/// A shift on `session`'s device: for each patient, 3 complete sets 160 minutes apart (from
/// `start`, staggered by 20 minutes per patient), each with its own values in the normal range,
/// and a visit note of the patient's own.
pub fn record_shift(
    session: &Session,
    patients: &[PatientId],
    start: DateTime<Utc>,
    text: ShiftText,
) -> Result<(), StoreError> {
    for (n, id) in patients.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
        for visit in 0..3 {
            let at = start + Duration::minutes((n * 20 + visit * 160) as i64);
            let vitals = serde_json::json!({
                "respiration_rate": rng.random_range(12..=20),
                "spo2": rng.random_range(94..=99),
                "on_oxygen": false,
                "systolic_bp": rng.random_range(105..=150),
                "pulse": rng.random_range(58..=98),
                "consciousness": "A",
                "temperature": f64::from(rng.random_range(362..=379)) / 10.0,
            });
            let (input, _) = VitalsInput::from_json(&vitals.to_string())?;
            session.record_observation(*id, &input, Some(at))?;
        }
        let note = doorstep_fixtures::visit_note(&mut rng);
        let note = match text {
            ShiftText::Fixtures => note,
            ShiftText::RandomLetters => random_letters(&mut rng, &note),
        };
        session.add_note(*id, &note)?;
    }
    Ok(())
}
