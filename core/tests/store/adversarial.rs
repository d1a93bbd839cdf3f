//! The server is an adversary (invariant 9), and so may be one member of the team. Each test plays
//! one attack from the adversarial-sync issue through the device's real sync API, with the test as
//! the hostile server (it relays, withholds, reorders and forges whatever it likes) or as a hostile
//! member (it holds real, enrolled keys and signs what it sends). Every attack must fail, and the
//! honest devices must still converge. The same attacks over HTTP, against the real server and
//! transport, are in `tests/tests/adversarial.rs`.

use doorstep_core::crypto::{DataKey, PinKdf};
use doorstep_core::observation::{Author, ObservationSet, Role};
use doorstep_core::store::{
    Device, NewPatient, RecordDoc, Recorded, Session, StoreError, UnlockPolicy,
};
use doorstep_core::sync::admin::{AdminState, lockbox_context};
use doorstep_core::sync::enrolment::EnrolmentCode;
use doorstep_core::sync::keys::{self, AgreementKey, SigningKey};
use doorstep_core::sync::payload;
use doorstep_core::sync::unit::{open_unit, seal_unit};
use doorstep_core::sync::wire::{
    B64, Endorsement, EnrolResponse, Enrolment, Lockbox, Member, PURPOSE_ENDORSEMENT,
    PURPOSE_MEMBERSHIP, PullResponse, Roster, Signed, StoredUnit, Unit, UnitHeader, UnitKind,
};
use doorstep_core::{DeviceId, PatientId};

use super::*;

pub(super) const TEAM: &str = "north";

/// The organisation, the team's log as the server keeps it, and what the server relays.
pub(super) struct World {
    pub(super) admin: AdminState,
    log: Vec<StoredUnit>,
    pub(super) roster: Roster,
}

pub(super) struct Honest {
    _dir: tempfile::TempDir,
    pub(super) session: Session,
}

impl Honest {
    pub(super) fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

/// A member who enrolled through a real code and then misbehaves with its own keys.
struct Hostile {
    device: DeviceId,
    signing: SigningKey,
    team_key: DataKey,
    counter: u64,
}

fn actor_of(device: DeviceId) -> automerge::ActorId {
    automerge::ActorId::from(device.as_uuid().as_bytes().as_slice())
}

impl World {
    pub(super) fn new() -> Self {
        let mut admin = AdminState::create("sim://server", "org").unwrap();
        let membership = admin.create_team(TEAM).unwrap();
        Self {
            admin,
            log: Vec::new(),
            roster: Roster {
                membership: Some(membership.membership),
                enrolments: Vec::new(),
                lockboxes: Vec::new(),
            },
        }
    }

    fn code(&self, user: &str, role: Role) -> (EnrolmentCode, Signed, B64) {
        let (code, publish) = self.admin.enrolment_code(TEAM, user, role, now()).unwrap();
        (code, publish.grant, publish.code_lockbox)
    }

    fn accept(
        &self,
        code: &EnrolmentCode,
        grant: &Signed,
        lockbox: &B64,
    ) -> doorstep_core::sync::enrolment::AcceptedGrant {
        let response = EnrolResponse {
            org: "org".to_owned(),
            admin_key: B64(self.admin.admin_public_key().unwrap().to_vec()),
            grant: grant.clone(),
            code_lockbox: lockbox.clone(),
        };
        code.accept(&response, now()).unwrap()
    }

    pub(super) fn honest(&mut self, user: &str) -> Honest {
        self.honest_as(user, Role::Nurse)
    }

    pub(super) fn honest_as(&mut self, user: &str, role: Role) -> Honest {
        let (code, grant, lockbox) = self.code(user, role);
        let accepted = self.accept(&code, &grant, &lockbox);
        let dir = tempfile::tempdir().unwrap();
        let policy = UnlockPolicy {
            pin_kdf: PinKdf::FAST_FOR_TESTS,
            ..UnlockPolicy::default()
        };
        let session = Device::create(dir.path(), user, role, PIN, policy).unwrap();
        let endorsement = session.join_team("sim://server", &code, &accepted).unwrap();
        self.roster
            .enrolments
            .push(Enrolment { grant, endorsement });
        Honest { _dir: dir, session }
    }

    /// A member whose endorsement may claim another role than its grant (`claimed_role`).
    fn hostile(&mut self, user: &str, claimed_role: Role) -> Hostile {
        self.hostile_granted(user, Role::Nurse, claimed_role)
    }

    fn hostile_granted(&mut self, user: &str, granted: Role, claimed_role: Role) -> Hostile {
        let (code, grant, lockbox) = self.code(user, granted);
        let accepted = self.accept(&code, &grant, &lockbox);
        let signing = SigningKey::generate().unwrap();
        let device = DeviceId::random();
        let endorsement = Signed::sign(
            &code.endorse_key().unwrap(),
            PURPOSE_ENDORSEMENT,
            &Endorsement {
                team: TEAM.to_owned(),
                member: Member {
                    device,
                    user: user.to_owned(),
                    role: claimed_role,
                    signing_key: B64(signing.public_key().to_vec()),
                    agreement_key: B64(AgreementKey::generate().unwrap().public_key().to_vec()),
                },
            },
        )
        .unwrap();
        self.roster
            .enrolments
            .push(Enrolment { grant, endorsement });
        Hostile {
            device,
            signing,
            team_key: accepted.team_key,
            counter: 0,
        }
    }

    fn append(&mut self, units: &[Unit]) -> Vec<u64> {
        units
            .iter()
            .map(|unit| {
                let seq = self.log.last().map_or(1, |last| last.seq + 1);
                self.log.push(StoredUnit {
                    seq,
                    unit: unit.clone(),
                });
                // As the real server does: a snapshot drops the record's units it covers,
                // whoever sent them.
                if let Some(covers) = unit.header.covers {
                    self.log.retain(|stored| {
                        stored.unit.header.doc != unit.header.doc || stored.seq > covers
                    });
                }
                seq
            })
            .collect()
    }

    /// Every change to `patient` the server holds, opened with the team key: what a member who
    /// holds that key can rebuild the record from.
    fn changes_of(&self, patient: PatientId) -> Vec<Vec<u8>> {
        let roster = doorstep_core::sync::roster::VerifiedRoster::verify(
            TEAM,
            &self.admin.admin_public_key().unwrap(),
            &self.roster,
        );
        let mut changes = Vec::new();
        for stored in &self.log {
            let header = &stored.unit.header;
            if header.kind != UnitKind::Bundle && header.doc != patient {
                continue;
            }
            let sealed = open_unit(&stored.unit, &roster, |e| Some(team_key(self, e))).unwrap();
            let raw = payload::decompress(&sealed).unwrap().into_owned();
            if header.kind != UnitKind::Bundle {
                changes.push(raw);
                continue;
            }
            // A bundle holds several records' first documents.
            let parts = payload::bundle::decode(&raw).unwrap();
            changes.extend(
                parts
                    .into_iter()
                    .filter(|(doc, _)| *doc == patient)
                    .map(|(_, doc)| doc.to_vec()),
            );
        }
        changes
    }

    /// An honest sync: roster, upload, pull everything.
    pub(super) fn sync(&mut self, device: &Honest) -> doorstep_core::store::PullOutcome {
        let session = &device.session;
        session.apply_roster(self.roster.clone()).unwrap();
        let prepared = session.prepare_upload().unwrap();
        let seqs = self.append(&prepared.request.units);
        session
            .confirm_upload(
                &prepared,
                &doorstep_core::sync::wire::UploadResponse { seqs },
            )
            .unwrap();
        let page = PullResponse {
            units: self
                .log
                .iter()
                .filter(|u| u.seq > session.sync_cursor().unwrap())
                .cloned()
                .collect(),
            cursor: self.log.last().map_or(0, |u| u.seq),
            more: false,
        };
        session.apply_pull(&page).unwrap()
    }
}

impl Hostile {
    fn unit(&mut self, doc: PatientId, kind: UnitKind, plain: &[u8]) -> Unit {
        self.counter += 1;
        seal_unit(
            &self.team_key,
            &self.signing,
            UnitHeader {
                team: TEAM.to_owned(),
                epoch: 1,
                doc,
                author: self.device,
                counter: self.counter,
                kind,
                covers: None,
            },
            plain,
        )
        .unwrap()
    }

    /// A new record as `by` wrote it, in Automerge changes made by `actor`.
    fn record(&mut self, actor: automerge::ActorId, by: Author, serial: u32) -> (PatientId, Unit) {
        let (patient, mut doc) = record_doc(actor, by, serial);
        let unit = self.unit(patient, UnitKind::Changes, &doc.save());
        (patient, unit)
    }

    fn author(&self, role: Role) -> Author {
        Author {
            user: doorstep_core::UserId::random(),
            role,
            device: self.device,
        }
    }
}

/// A new record with one observation set, as `by` wrote it, in Automerge changes made by `actor`.
fn record_doc(actor: automerge::ActorId, by: Author, serial: u32) -> (PatientId, RecordDoc) {
    let recorded = Recorded {
        by,
        at: chrono::Utc::now(),
    };
    let mut new =
        NewPatient::with_demographics(demographics(valid_serial(serial), "Forged", "Entry"));
    new.observations.push(ObservationSet::record(
        doorstep_core::ObservationId::random(),
        chrono::Utc::now(),
        by,
        vitals(COMPLETE).validate().unwrap(),
        doorstep_core::vitals::Spo2Scale::Scale1,
        &doorstep_core::observation::Scoring::applies(
            &doorstep_core::news2::ResponseProtocol::default(),
        ),
    ));
    let doc = RecordDoc::create(
        actor,
        &new,
        recorded,
        &doorstep_core::news2::ResponseProtocol::default(),
    )
    .unwrap();
    (PatientId::random(), doc)
}

fn author_of(device: &Honest) -> Author {
    let user = device.session.user();
    Author {
        user: user.id,
        role: user.role,
        device: device.session.sync_status().unwrap().device_id,
    }
}

fn team_key(world: &World, epoch: u32) -> DataKey {
    world.admin.team_key(TEAM, epoch).unwrap()
}

#[test]
fn attack_1_a_team_key_the_server_chose_is_refused_and_never_seals_anything() {
    let mut world = World::new();
    let nell = world.honest("Nell");
    let bea = world.honest("Bea");
    let nell_id = author_of(&nell).device;
    let agreement = nell
        .session
        .team_members()
        .unwrap()
        .into_iter()
        .find(|member| member.device == nell_id)
        .unwrap()
        .agreement_key
        .key32()
        .unwrap();
    // The server seals a key of its own choosing to Nell for the next epoch, and another for the
    // epoch whose key she already holds. Anyone can: her agreement key is public.
    let chosen = doorstep_core::crypto::make_data_key().unwrap();
    let mut hostile = world.roster.clone();
    for epoch in [1, 2] {
        hostile.lockboxes.push(Lockbox {
            device: nell_id,
            epoch,
            sealed: B64(keys::seal_to(
                &agreement,
                &lockbox_context(TEAM, epoch, nell_id),
                chosen.as_bytes(),
            )
            .unwrap()),
        });
    }
    let outcome = nell.session.apply_roster(hostile).unwrap();
    assert_eq!(outcome.keys_accepted, 0);
    assert_eq!(outcome.keys_refused, 1, "the epoch-2 key was refused");
    let id = nell
        .session
        .add_patient(&patient(valid_serial(11), "Ada", "Ashby"))
        .unwrap();
    let prepared = nell.session.prepare_upload().unwrap();
    let unit = &prepared.request.units[0];
    assert_eq!(unit.header.epoch, 1, "still sealed under the admin's key");
    let roster = doorstep_core::sync::roster::VerifiedRoster::verify(
        TEAM,
        &world.admin.admin_public_key().unwrap(),
        &world.roster,
    );
    assert!(
        open_unit(unit, &roster, |_| DataKey::from_bytes(chosen.as_bytes())
            .ok())
        .is_err()
    );
    assert!(open_unit(unit, &roster, |e| Some(team_key(&world, e))).is_ok());

    // A real rotation: the admin revokes a device and seals epoch 2 to everyone; the server
    // swaps Nell's lockbox for its own. She refuses it and seals nothing rather than fall back.
    let ghost = world.hostile("Ghost", Role::Nurse);
    let verified_before = world.roster.clone();
    let publish = world
        .admin
        .revoke(TEAM, ghost.device, &verified_before)
        .unwrap();
    world.roster.membership = Some(publish.membership.clone());
    let mut swapped = world.roster.clone();
    swapped.lockboxes = publish
        .lockboxes
        .iter()
        .filter(|l| l.device != nell_id)
        .cloned()
        .collect();
    swapped.lockboxes.push(Lockbox {
        device: nell_id,
        epoch: 2,
        sealed: B64(keys::seal_to(
            &agreement,
            &lockbox_context(TEAM, 2, nell_id),
            chosen.as_bytes(),
        )
        .unwrap()),
    });
    let outcome = nell.session.apply_roster(swapped).unwrap();
    assert_eq!((outcome.keys_accepted, outcome.keys_refused), (0, 1));
    assert!(matches!(
        nell.session.prepare_upload(),
        Err(StoreError::SyncRefused(_))
    ));
    // The admin's own lockbox arrives: accepted, and units go under epoch 2.
    world.roster.lockboxes = publish.lockboxes.clone();
    let outcome = nell.session.apply_roster(world.roster.clone()).unwrap();
    assert_eq!(outcome.keys_accepted, 1);
    let prepared = nell.session.prepare_upload().unwrap();
    assert!(prepared.request.units.iter().all(|u| u.header.epoch == 2));
    world.roster.lockboxes.clear();

    // Honest devices still converge.
    world.roster.lockboxes = publish.lockboxes;
    world.sync(&nell);
    world.sync(&bea);
    assert_eq!(bea.session.open_record(id).unwrap().family, "Ashby");
}

#[test]
fn attack_2_a_wipe_needs_the_admin_s_signed_revocation_of_this_device() {
    let mut world = World::new();
    let nell = world.honest("Nell");
    let bea = world.honest("Bea");
    world.sync(&nell);
    let nell_id = author_of(&nell).device;
    let bea_id = author_of(&bea).device;
    let membership = |version: u64, revoked: Vec<DeviceId>, key: &SigningKey| {
        Signed::sign(
            key,
            PURPOSE_MEMBERSHIP,
            &doorstep_core::sync::wire::Membership {
                org: "org".to_owned(),
                team: TEAM.to_owned(),
                version,
                epoch: 2,
                members: vec![],
                revoked,
                former: vec![],
                key_commitments: Default::default(),
                protocol: None,
            },
        )
        .unwrap()
    };
    let stranger = SigningKey::generate().unwrap();
    // Forged by anyone but the admin, or revoking someone else: no wipe.
    assert!(
        !nell
            .session
            .verify_revocation(&membership(9, vec![nell_id], &stranger))
            .unwrap()
    );
    let real = world
        .admin
        .revoke(TEAM, bea_id, &world.roster.clone())
        .unwrap();
    assert!(!nell.session.verify_revocation(&real.membership).unwrap());
    // The admin's revocation of Bea is proof for Bea, and the roster carrying it says so too.
    assert!(bea.session.verify_revocation(&real.membership).unwrap());
    world.roster.membership = Some(real.membership);
    assert!(
        bea.session
            .apply_roster(world.roster.clone())
            .unwrap()
            .revoked
    );
    assert!(
        !nell
            .session
            .apply_roster(world.roster.clone())
            .unwrap()
            .revoked
    );
}

#[test]
fn attack_3_an_older_missing_or_unsigned_membership_is_refused_and_a_revocation_stands() {
    let mut world = World::new();
    let nell = world.honest("Nell");
    let mut ghost = world.hostile("Ghost", Role::Nurse);
    let old = world.roster.clone();
    let publish = world.admin.revoke(TEAM, ghost.device, &old).unwrap();
    world.roster.membership = Some(publish.membership);
    world.roster.lockboxes = publish.lockboxes;
    world.sync(&nell);
    // Rollback to the membership before the revocation, or none at all, or one the admin did not
    // sign: each is refused and changes nothing.
    let mut unsigned = world.roster.clone();
    unsigned.membership = Some(
        Signed::sign(
            &SigningKey::generate().unwrap(),
            PURPOSE_MEMBERSHIP,
            &serde_json::json!({}),
        )
        .unwrap(),
    );
    let mut missing = world.roster.clone();
    missing.membership = None;
    for (roster, what) in [
        (old, "older"),
        (missing, "withheld"),
        (unsigned, "unsigned"),
    ] {
        assert!(
            matches!(
                nell.session.apply_roster(roster),
                Err(StoreError::Untrusted(_))
            ),
            "{what}"
        );
    }
    // A unit the revoked device claims to have sealed after its revocation is refused for good,
    // however often it is relayed (its work from before still verifies).
    let ghost_author = ghost.author(Role::Nurse);
    let (patient, mut unit) = ghost.record(actor_of(ghost.device), ghost_author, 21);
    unit.header.epoch = 2;
    let resigned = seal_unit(&ghost.team_key, &ghost.signing, unit.header.clone(), b"x").unwrap();
    world.append(&[resigned.clone(), resigned]);
    let outcome = world.sync(&nell);
    assert_eq!(
        (outcome.applied, outcome.waiting, outcome.rejected),
        (0, 0, 2)
    );
    assert!(matches!(
        nell.session.open_record(patient),
        Err(StoreError::PatientNotFound)
    ));
    // Sealing stays on the new epoch, whose key the revoked device never had.
    nell.session.add_patient(&patient_new(22)).unwrap();
    assert!(
        nell.session
            .prepare_upload()
            .unwrap()
            .request
            .units
            .iter()
            .all(|u| u.header.epoch == 2)
    );
}

fn patient_new(serial: u32) -> NewPatient {
    patient(valid_serial(serial), "Ivy", "Inchbold")
}

#[test]
fn attack_4_one_bad_unit_never_stops_other_authors_records_or_later_changes() {
    let mut world = World::new();
    let nell = world.honest("Nell");
    let bea = world.honest("Bea");
    let mut mallory = world.hostile("Mallory", Role::Nurse);
    // Mallory sends a unit that opens but is no Automerge change, and one that is not sealed
    // under the team key at all; Nell records as usual.
    let junk = mallory.unit(PatientId::random(), UnitKind::Changes, b"not a change");
    let mut garbled = mallory.unit(PatientId::random(), UnitKind::Changes, b"x");
    garbled.ciphertext.0[3] ^= 1;
    // Compressed payloads that are no such thing, or declare far more than any record: refused
    // before anything is expanded.
    let mut bomb = vec![payload::ZSTD_V1];
    bomb.extend(zstd::bulk::compress(&vec![0u8; payload::MAX_PAYLOAD_BYTES + 1], 1).unwrap());
    let bomb = mallory.unit(PatientId::random(), UnitKind::Changes, &bomb);
    let corrupt = mallory.unit(
        PatientId::random(),
        UnitKind::Snapshot,
        &[payload::ZSTD_V1, 0x28, 0xb5, 0x2f, 0xfd, 9, 9, 9],
    );
    // Within the limit but no record: expanded one unit at a time, refused, dropped.
    let zeros = mallory.unit(
        PatientId::random(),
        UnitKind::Changes,
        &payload::compress(&vec![0u8; 8 * 1024 * 1024]).unwrap(),
    );
    world.append(&[junk, garbled, bomb, corrupt, zeros]);
    let first = nell
        .session
        .add_patient(&patient(valid_serial(31), "Una", "Upton"))
        .unwrap();
    world.sync(&nell);
    let outcome = world.sync(&bea);
    assert_eq!(outcome.applied, 1);
    assert_eq!(outcome.rejected, 5);
    assert_eq!(bea.session.open_record(first).unwrap().family, "Upton");

    // A device enrolled mid-sync: its unit arrives before its enrolment does. It waits, and is
    // applied once the roster names it; the cursor never stops.
    let late = world.honest("Late");
    let late_enrolment = world.roster.enrolments.pop().unwrap();
    let from_late = late
        .session
        .add_patient(&patient(valid_serial(32), "Vera", "Vane"))
        .unwrap();
    late.session
        .apply_roster(Roster {
            enrolments: vec![late_enrolment.clone()],
            ..world.roster.clone()
        })
        .unwrap();
    let prepared = late.session.prepare_upload().unwrap();
    world.append(&prepared.request.units);
    let outcome = world.sync(&bea);
    assert_eq!((outcome.applied, outcome.waiting), (0, 1));
    assert_eq!(bea.session.sync_status().unwrap().waiting, 1);
    world.roster.enrolments.push(late_enrolment);
    let outcome = world.sync(&bea);
    assert_eq!((outcome.applied, outcome.waiting), (1, 0));
    assert_eq!(bea.session.open_record(from_late).unwrap().family, "Vane");

    // A change that arrives before the change it builds on waits for it, and a snapshot never
    // covers a unit that is waiting.
    nell.session.add_note(first, "first visit").unwrap();
    let one = nell.session.prepare_upload().unwrap();
    nell.session
        .confirm_upload(
            &one,
            &doorstep_core::sync::wire::UploadResponse {
                seqs: vec![900; one.request.units.len()],
            },
        )
        .unwrap();
    nell.session.add_note(first, "second visit").unwrap();
    let two = nell.session.prepare_upload().unwrap();
    let cursor = bea.session.sync_cursor().unwrap();
    let later = StoredUnit {
        seq: cursor + 10,
        unit: two.request.units[0].clone(),
    };
    let outcome = bea
        .session
        .apply_pull(&PullResponse {
            units: vec![later.clone()],
            cursor: cursor + 10,
            more: false,
        })
        .unwrap();
    assert_eq!((outcome.applied, outcome.waiting), (0, 1));
    let snapshots = bea.session.prepare_snapshots(1).unwrap();
    for unit in &snapshots.request.units {
        if unit.header.doc == first {
            assert!(
                unit.header.covers.unwrap() < later.seq,
                "covers a waiting unit"
            );
        }
    }
    let earlier = StoredUnit {
        seq: cursor + 11,
        unit: one.request.units[0].clone(),
    };
    let outcome = bea
        .session
        .apply_pull(&PullResponse {
            units: vec![earlier],
            cursor: cursor + 11,
            more: false,
        })
        .unwrap();
    assert_eq!((outcome.applied, outcome.waiting), (2, 0));
    let notes: Vec<String> = bea
        .session
        .open_record(first)
        .unwrap()
        .notes
        .into_iter()
        .map(|n| n.text)
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
}

#[test]
fn a_note_written_while_an_upload_is_under_way_goes_at_the_next_sync() {
    let mut world = World::new();
    let nell = world.honest("Nell");
    let bea = world.honest("Bea");
    let patient_id = nell
        .session
        .add_patient(&patient(valid_serial(81), "Ida", "Irwin"))
        .unwrap();
    world.sync(&nell);
    nell.session.add_note(patient_id, "before").unwrap();
    let prepared = nell.session.prepare_upload().unwrap();
    let seqs = world.append(&prepared.request.units);
    // The clinician writes again while the upload is in flight; the server then acknowledges.
    nell.session.add_note(patient_id, "during").unwrap();
    nell.session
        .confirm_upload(
            &prepared,
            &doorstep_core::sync::wire::UploadResponse { seqs },
        )
        .unwrap();
    assert_eq!(nell.session.sync_status().unwrap().pending, 1);
    world.sync(&nell);
    world.sync(&bea);
    let notes: Vec<String> = bea
        .session
        .open_record(patient_id)
        .unwrap()
        .notes
        .into_iter()
        .map(|note| note.text)
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
}

#[test]
fn attack_5_entries_in_a_colleague_s_name_or_role_are_refused_and_counted() {
    let mut world = World::new();
    let nell = world.honest("Nell");
    let bea = world.honest("Bea");
    let mut mallory = world.hostile("Mallory", Role::Nurse);
    let nell_author = author_of(&nell);
    let nell_actor = actor_of(nell_author.device);
    let mallory_actor = actor_of(mallory.device);
    // In Nell's name with Mallory's changes; in Nell's name with Nell's Automerge actor; as
    // Mallory but with a role she was not granted.
    let (forged_name, a) = mallory.record(mallory_actor.clone(), nell_author, 41);
    let (forged_actor, b) = mallory.record(nell_actor, nell_author, 42);
    let administrator = mallory.author(Role::Administrator);
    let (forged_role, c) = mallory.record(mallory_actor.clone(), administrator, 43);
    // And honestly, as herself: accepted.
    let honest_author = mallory.author(Role::Nurse);
    let (honest, d) = mallory.record(mallory_actor, honest_author, 44);
    world.append(&[a, b, c, d]);
    let outcome = world.sync(&bea);
    assert_eq!(outcome.forged, 3);
    assert_eq!(outcome.applied, 1);
    for refused in [forged_name, forged_actor, forged_role] {
        assert!(matches!(
            bea.session.open_record(refused),
            Err(StoreError::PatientNotFound)
        ));
    }
    assert_eq!(bea.session.open_record(honest).unwrap().family, "Entry");

    // An endorsement that claims a role the grant did not give is no enrolment at all.
    let mut impostor = world.hostile("Impostor", Role::Administrator);
    let impostor_author = impostor.author(Role::Administrator);
    let (_, e) = impostor.record(actor_of(impostor.device), impostor_author, 45);
    world.append(&[e]);
    let outcome = world.sync(&bea);
    assert_eq!((outcome.applied, outcome.waiting), (0, 1));
    world.sync(&nell);
    assert_eq!(
        nell.session.patients().unwrap().len(),
        bea.session.patients().unwrap().len()
    );
}

#[test]
fn a_revoked_device_s_earlier_work_and_a_later_device_s_older_keys_never_leave_units_waiting() {
    let mut world = World::new();
    let nell = world.honest("Nell");
    let mut ghost = world.hostile("Ghost", Role::Nurse);
    // Before the revocation: Nell records, and the soon-revoked device writes honestly.
    let from_nell = nell
        .session
        .add_patient(&patient(valid_serial(61), "Olive", "Orchard"))
        .unwrap();
    world.sync(&nell);
    let ghost_author = ghost.author(Role::Nurse);
    let (from_ghost, unit) = ghost.record(actor_of(ghost.device), ghost_author, 62);
    world.append(&[unit]);
    let publish = world
        .admin
        .revoke(TEAM, ghost.device, &world.roster.clone())
        .unwrap();
    world.roster.membership = Some(publish.membership);
    world.roster.lockboxes = publish.lockboxes;
    // A device enrolled after the rotation holds only the new epoch's key: the older units wait.
    let late = world.honest("Late");
    let outcome = world.sync(&late);
    assert_eq!((outcome.applied, outcome.waiting), (0, 2));
    // The admin publishes the team again: every epoch's key reaches every member, and the
    // revoked device's earlier record verifies as its work from before.
    let republished = world
        .admin
        .publish_team(TEAM, &world.roster.clone())
        .unwrap();
    world.roster.membership = Some(republished.membership);
    world.roster.lockboxes = republished.lockboxes;
    let outcome = world.sync(&late);
    assert_eq!((outcome.applied, outcome.waiting), (2, 0));
    assert_eq!(
        late.session.open_record(from_nell).unwrap().family,
        "Orchard"
    );
    assert_eq!(
        late.session.open_record(from_ghost).unwrap().family,
        "Entry"
    );
}

#[test]
fn a_colleague_with_another_role_cannot_share_an_enrolled_device() {
    let mut world = World::new();
    let nell = world.honest("Nell");
    world.sync(&nell);
    assert!(matches!(
        nell.session
            .add_user("Maud Midwife", Role::Midwife, "975311"),
        Err(StoreError::RoleDiffersFromEnrolment { enrolled: "nurse" })
    ));
    nell.session
        .add_user("Nora Nurse", Role::Nurse, "975311")
        .unwrap();
}

#[test]
fn a_server_relaying_two_devices_for_one_code_gets_neither_accepted() {
    let mut world = World::new();
    let bea = world.honest("Bea");
    // A leaked code used twice: the server (which refuses this itself) relays both.
    let (code, grant, _) = world.code("Nell", Role::Nurse);
    let mut devices = Vec::new();
    for _ in 0..2 {
        let device = DeviceId::random();
        let endorsement = Signed::sign(
            &code.endorse_key().unwrap(),
            PURPOSE_ENDORSEMENT,
            &Endorsement {
                team: TEAM.to_owned(),
                member: Member {
                    device,
                    user: "Nell".to_owned(),
                    role: Role::Nurse,
                    signing_key: B64(SigningKey::generate().unwrap().public_key().to_vec()),
                    agreement_key: B64(AgreementKey::generate().unwrap().public_key().to_vec()),
                },
            },
        )
        .unwrap();
        world.roster.enrolments.push(Enrolment {
            grant: grant.clone(),
            endorsement,
        });
        devices.push(device);
    }
    bea.session.apply_roster(world.roster.clone()).unwrap();
    let members: Vec<DeviceId> = bea
        .session
        .team_members()
        .unwrap()
        .into_iter()
        .map(|member| member.device)
        .collect();
    for device in devices {
        assert!(!members.contains(&device));
    }
}

#[test]
fn attack_6_a_member_deleting_a_colleague_s_entry_is_refused() {
    use automerge::ReadDoc as _;
    use automerge::transaction::Transactable as _;
    let mut world = World::new();
    let nell = world.honest("Nell");
    let bea = world.honest("Bea");
    let mut mallory = world.hostile("Mallory", Role::Nurse);
    let patient_id = nell
        .session
        .add_patient(&patient(valid_serial(71), "Wynne", "Wicks"))
        .unwrap();
    world.sync(&nell);
    world.sync(&bea);
    // Mallory holds the team key, so she can read Nell's record and write a change that deletes
    // its allergy entry, then send it as her own signed unit.
    let unit = world
        .log
        .iter()
        .find(|stored| stored.unit.header.doc == patient_id)
        .unwrap()
        .unit
        .clone();
    let roster = doorstep_core::sync::roster::VerifiedRoster::verify(
        TEAM,
        &world.admin.admin_public_key().unwrap(),
        &world.roster,
    );
    let sealed = open_unit(&unit, &roster, |e| Some(team_key(&world, e))).unwrap();
    let mut doc = automerge::AutoCommit::load(&payload::decompress(&sealed).unwrap())
        .unwrap()
        .with_actor(actor_of(mallory.device));
    let heads = doc.get_heads();
    let allergies = match doc.get(automerge::ROOT, "allergies").unwrap() {
        Some((_, id)) => id,
        None => panic!("no allergies map"),
    };
    let entry = doc.keys(&allergies).next().unwrap();
    doc.delete(&allergies, entry.as_str()).unwrap();
    doc.commit();
    let deletion = mallory.unit(patient_id, UnitKind::Changes, &doc.save_after(&heads));
    world.append(&[deletion]);
    let outcome = world.sync(&bea);
    assert_eq!(outcome.forged, 1);
    assert_eq!(
        bea.session.open_record(patient_id).unwrap().allergies.len(),
        1
    );
}

#[test]
fn attack_7_a_modified_device_enrolled_as_a_healthcare_assistant_cannot_take_a_clinicians_decision()
{
    let mut world = World::new();
    let nell = world.honest("Nell");
    let bea = world.honest("Bea");
    let assistant = Role::HealthcareAssistant;
    let mut hal = world.hostile_granted("Hal", assistant, assistant);
    let patient_id = nell
        .session
        .add_patient(&patient(valid_serial(72), "Xander", "Xu"))
        .unwrap();
    let set = nell
        .session
        .record_observation(patient_id, &vitals(COMPLETE), None)
        .unwrap();
    world.sync(&nell);
    world.sync(&bea);
    // Hal holds the team key: he rebuilds Nell's record from the log and writes, as himself and
    // in his own role, what only a registered clinician may: a set entered in error, Scale 2.
    let plains = world.changes_of(patient_id);
    // Each forgery builds on the record as Bea holds it, with Hal's changes so far.
    let hal_actor = actor_of(hal.device);
    let forge = |before: &[&[u8]], change: &dyn Fn(&mut RecordDoc)| {
        let mut doc = RecordDoc::load(
            hal_actor.clone(),
            None,
            plains
                .iter()
                .map(Vec::as_slice)
                .chain(before.iter().copied()),
        )
        .unwrap();
        let heads = doc.heads();
        change(&mut doc);
        doc.changes_after(&heads)
    };
    let by = hal.author(assistant);
    let at = chrono::Utc::now();
    // What his role may do arrives: a note of his own.
    let note = forge(&[], &|doc| {
        doc.add_note(
            doorstep_core::NoteId::random(),
            "visited, all well",
            Recorded { by, at },
        )
        .unwrap();
    });
    let entered_in_error = forge(&[&note], &|doc| {
        doc.mark_observation_entered_in_error(
            set.id(),
            &doorstep_core::store::EnteredInError {
                by,
                at,
                reason: "not mine to mark".to_owned(),
            },
        )
        .unwrap();
    });
    let unit = hal.unit(patient_id, UnitKind::Changes, &note);
    world.append(&[unit]);
    assert_eq!(world.sync(&bea).applied, 1);
    let unit = hal.unit(patient_id, UnitKind::Changes, &entered_in_error);
    world.append(&[unit]);
    let outcome = world.sync(&bea);
    assert_eq!((outcome.forged, outcome.applied), (1, 0), "{outcome:?}");
    let scale_2 = forge(&[&note], &|doc| {
        doc.set_spo2_scale_decision(&doorstep_core::store::ScaleDecision {
            scale: doorstep_core::Spo2Scale::Scale2,
            by,
            at,
            note: "decided by an assistant".to_owned(),
        })
        .unwrap();
    });
    let unit = hal.unit(patient_id, UnitKind::Changes, &scale_2);
    world.append(&[unit]);
    let outcome = world.sync(&bea);
    assert_eq!((outcome.forged, outcome.applied), (1, 0), "{outcome:?}");
    let record = bea.session.open_record(patient_id).unwrap();
    assert!(record.observations[0].entered_in_error.is_none());
    assert!(record.spo2_scale_decision.is_none());
    assert_eq!(record.notes.len(), 1);
}

#[test]
fn attack_8_a_member_the_restriction_does_not_name_cannot_lift_it_for_the_team() {
    let mut world = World::new();
    let nell = world.honest("Nell");
    let bea = world.honest("Bea");
    let mut mallory = world.hostile("Mallory", Role::Nurse);
    let patient_id = nell
        .session
        .add_patient(&patient(valid_serial(73), "Yara", "Yeoman"))
        .unwrap();
    nell.session
        .restrict_record(
            patient_id,
            doorstep_core::store::RestrictionReason::Safeguarding,
            &[],
        )
        .unwrap();
    world.sync(&nell);
    world.sync(&bea);
    let restricted = doorstep_core::store::Access::BannerOnly { may_decide: false };
    assert_eq!(bea.session.access(patient_id).unwrap(), restricted);
    // Mallory holds the team key and a nurse's role, but is not named: her lift is refused.
    let plains = world.changes_of(patient_id);
    let mut doc = RecordDoc::load(
        actor_of(mallory.device),
        None,
        plains.iter().map(Vec::as_slice),
    )
    .unwrap();
    let heads = doc.heads();
    doc.decide_restriction(
        &doorstep_core::store::RestrictionDecision::Lifted,
        Recorded {
            by: mallory.author(Role::Nurse),
            at: chrono::Utc::now(),
        },
    )
    .unwrap();
    let lift = mallory.unit(patient_id, UnitKind::Changes, &doc.changes_after(&heads));
    world.append(&[lift]);
    let outcome = world.sync(&bea);
    assert_eq!((outcome.forged, outcome.applied), (1, 0), "{outcome:?}");
    assert_eq!(bea.session.access(patient_id).unwrap(), restricted);
    // Nell, named, lifts it: that arrives.
    nell.session.lift_restriction(patient_id).unwrap();
    world.sync(&nell);
    world.sync(&bea);
    assert_eq!(
        bea.session.access(patient_id).unwrap(),
        doorstep_core::store::Access::Open
    );
}

#[test]
fn a_junk_snapshot_that_cut_a_record_short_on_the_server_is_healed_by_a_device_holding_it() {
    let mut world = World::new();
    let nell = world.honest("Nell");
    let mut mallory = world.hostile("Mallory", Role::Nurse);
    let patient_id = nell
        .session
        .add_patient(&patient(valid_serial(81), "Xena", "Yale"))
        .unwrap();
    world.sync(&nell);
    // A snapshot that is no record, covering everything: the server drops Nell's units.
    let mut junk = mallory.unit(patient_id, UnitKind::Snapshot, b"not a record");
    junk.header.covers = Some(world.log.last().unwrap().seq);
    let resealed = seal_unit(
        &mallory.team_key,
        &mallory.signing,
        junk.header.clone(),
        b"x",
    )
    .unwrap();
    world.append(&[resealed]);
    assert!(
        world
            .log
            .iter()
            .all(|u| u.unit.header.doc != patient_id || u.unit.header.author == mallory.device)
    );
    // Nell refuses it, and sends an honest snapshot of the record at the end of her sync.
    let outcome = world.sync(&nell);
    assert_eq!(outcome.rejected, 1);
    let healing = nell.session.prepare_snapshots(64).unwrap();
    assert_eq!(healing.request.units.len(), 1);
    let seqs = world.append(&healing.request.units);
    nell.session
        .confirm_upload(
            &healing,
            &doorstep_core::sync::wire::UploadResponse { seqs },
        )
        .unwrap();
    // A device enrolled later gets the whole record.
    let late = world.honest("Late");
    world.sync(&late);
    assert_eq!(late.session.open_record(patient_id).unwrap().family, "Yale");
}

#[test]
fn enrolling_a_store_whose_user_has_another_role_is_refused() {
    let world = World::new();
    let (code, grant, lockbox) = world.code("Nell", Role::Nurse);
    let accepted = world.accept(&code, &grant, &lockbox);
    let dir = tempfile::tempdir().unwrap();
    let policy = UnlockPolicy {
        pin_kdf: PinKdf::FAST_FOR_TESTS,
        ..UnlockPolicy::default()
    };
    let session = Device::create(dir.path(), "Nell", Role::Midwife, PIN, policy).unwrap();
    assert!(matches!(
        session.join_team("sim://server", &code, &accepted),
        Err(StoreError::RoleDiffersFromEnrolment { enrolled: "nurse" })
    ));
    assert_eq!(session.sync_status().unwrap().team, None);
}

#[test]
fn an_integration_device_s_import_reaches_the_team_and_nothing_clinical_from_it_does() {
    use doorstep_core::store::{EntryStatus, Imported, RecordImport, Snapshot, SourceIdentifier};
    let mut world = World::new();
    let nell = world.honest("Nell");
    let feed = world.honest_as("GP feed", Role::Integration);
    let source = SourceIdentifier {
        system: "https://gp.example/Id/allergy".to_owned(),
        value: "A-1".to_owned(),
    };
    let import = RecordImport {
        demographics: demographics(valid_serial(81), "Yolanda", "Yeats"),
        allergies: vec![Imported {
            id: source.entry_id(),
            source: Some(source.clone()),
            item: Allergy {
                substance: "Penicillin".to_owned(),
                reaction: "anaphylaxis".to_owned(),
                severity: AllergySeverity::Severe,
            },
            status: EntryStatus::Active,
        }],
        flags: Vec::new(),
        medications: Some(Snapshot {
            source: "Lantern Row Surgery".to_owned(),
            as_of: chrono::Utc::now(),
            items: vec![doorstep_core::patient::Medication {
                name: "Bisoprolol 5mg tablets".to_owned(),
                dose: "5 mg".to_owned(),
                frequency: "once daily".to_owned(),
                status: Default::default(),
            }],
        }),
        problems: None,
        no_known_allergies: false,
    };
    let mut told_none = import.clone();
    told_none.demographics = demographics(valid_serial(82), "Zac", "Zeller");
    told_none.allergies.clear();
    told_none.medications = None;
    told_none.no_known_allergies = true;
    let outcome = feed
        .session
        .import_records(
            &[import, told_none],
            "Lantern Row Surgery",
            doorstep_core::store::NewPatients::Register,
            |_| {},
        )
        .unwrap();
    assert_eq!(outcome.patients_created, 2);
    assert_eq!(outcome.no_known_allergies_recorded, 1);
    world.sync(&feed);
    let pulled = world.sync(&nell);
    assert_eq!(pulled.forged, 0, "{pulled:?}");
    let held = nell.session.patients().unwrap();
    let id_of = |family: &str| held.iter().find(|p| p.family == family).unwrap().id;
    let patient_id = id_of("Yeats");
    let record = nell.session.open_record(patient_id).unwrap();
    assert_eq!(record.allergies.len(), 1);
    assert_eq!(record.medications.unwrap().items.len(), 1);
    assert!(matches!(
        nell.session
            .open_record(id_of("Zeller"))
            .unwrap()
            .allergy_status,
        doorstep_core::store::AllergyStatus::NoKnownAllergies { .. }
    ));
    // Nell records an allergy of her own.
    let latex = nell
        .session
        .add_allergy(
            patient_id,
            &Allergy {
                substance: "Latex".to_owned(),
                reaction: "rash".to_owned(),
                severity: AllergySeverity::Mild,
            },
        )
        .unwrap();
    world.sync(&nell);

    // A modified integration device writing what only care staff write is refused.
    let mut rogue = world.hostile_granted("Rogue feed", Role::Integration, Role::Integration);
    let plains = world.changes_of(patient_id);
    let mut doc = RecordDoc::load(
        actor_of(rogue.device),
        None,
        plains.iter().map(Vec::as_slice),
    )
    .unwrap();
    let heads = doc.heads();
    doc.add_note(
        doorstep_core::NoteId::random(),
        "seen today, all well",
        Recorded {
            by: rogue.author(Role::Integration),
            at: chrono::Utc::now(),
        },
    )
    .unwrap();
    let unit = rogue.unit(patient_id, UnitKind::Changes, &doc.changes_after(&heads));
    world.append(&[unit]);
    let outcome = world.sync(&nell);
    assert_eq!((outcome.forged, outcome.applied), (1, 0), "{outcome:?}");
    assert!(
        nell.session
            .open_record(patient_id)
            .unwrap()
            .notes
            .is_empty()
    );

    // Nor may it close the allergy Nell recorded, even in its own name (built on the record as
    // Nell holds it: without the refused note).
    let mut doc = RecordDoc::load(
        actor_of(rogue.device),
        None,
        plains.iter().map(Vec::as_slice),
    )
    .unwrap();
    let heads = doc.heads();
    doc.set_entry_status(
        doorstep_core::store::EntryContainer::Allergies,
        latex,
        EntryStatus::EnteredInError,
        Recorded {
            by: rogue.author(Role::Integration),
            at: chrono::Utc::now(),
        },
    )
    .unwrap();
    let unit = rogue.unit(patient_id, UnitKind::Changes, &doc.changes_after(&heads));
    world.append(&[unit]);
    let outcome = world.sync(&nell);
    assert_eq!((outcome.forged, outcome.applied), (1, 0), "{outcome:?}");
    let record = nell.session.open_record(patient_id).unwrap();
    let latex_entry = record.allergies.iter().find(|e| e.id == latex).unwrap();
    assert_eq!(latex_entry.status, EntryStatus::Active);
}

#[test]
fn a_bundle_of_new_records_is_checked_record_by_record() {
    let mut world = World::new();
    let nell = world.honest("Nell");
    let bea = world.honest("Bea");
    // Three patients registered in one sitting go up as one bundle that names none of them.
    let ids: Vec<PatientId> = (41..44)
        .map(|serial| {
            nell.session
                .add_patient(&patient(valid_serial(serial), "Wyn", "Wren"))
                .unwrap()
        })
        .collect();
    let prepared = nell.session.prepare_upload().unwrap();
    let kinds: Vec<UnitKind> = prepared
        .request
        .units
        .iter()
        .map(|unit| unit.header.kind)
        .collect();
    assert_eq!(kinds, [UnitKind::Bundle, UnitKind::Audit]);
    assert!(!ids.contains(&prepared.request.units[0].header.doc));
    assert_eq!(prepared.records_sent(), 3);
    world.sync(&nell);
    let outcome = world.sync(&bea);
    assert_eq!((outcome.applied, outcome.rejected), (3, 0), "{outcome:?}");
    for id in &ids {
        assert_eq!(bea.session.open_record(*id).unwrap().family, "Wren");
    }
    // A later change to one of them is an ordinary unit, applied on top.
    nell.session.add_note(ids[1], "seen at home").unwrap();
    world.sync(&nell);
    assert_eq!(world.sync(&bea).applied, 1);
    assert_eq!(bea.session.open_record(ids[1]).unwrap().notes.len(), 1);

    // Mallory bundles a record of her own with one made in Nell's name and one that is only the
    // second change of a record (what it builds on never sent): each part is judged as a unit of
    // its record's changes would be, and a part that is not a whole document never waits.
    let mut mallory = world.hostile("Mallory", Role::Nurse);
    let (own, mut own_doc) = record_doc(actor_of(mallory.device), mallory.author(Role::Nurse), 51);
    let (forged, mut forged_doc) =
        record_doc(actor_of(author_of(&nell).device), author_of(&nell), 52);
    let (partial, mut partial_doc) =
        record_doc(actor_of(mallory.device), mallory.author(Role::Nurse), 53);
    let heads = partial_doc.heads();
    partial_doc
        .add_note(
            doorstep_core::NoteId::random(),
            "second visit",
            Recorded {
                by: mallory.author(Role::Nurse),
                at: chrono::Utc::now(),
            },
        )
        .unwrap();
    let docs = [
        (own, own_doc.save_uncompressed()),
        (forged, forged_doc.save_uncompressed()),
        (partial, partial_doc.changes_after(&heads)),
    ];
    let parts: Vec<(PatientId, &[u8])> = docs
        .iter()
        .map(|(patient, doc)| (*patient, doc.as_slice()))
        .collect();
    let bundle = payload::compress(&payload::bundle::encode(&parts).unwrap()).unwrap();
    let bundle = mallory.unit(PatientId::random(), UnitKind::Bundle, &bundle);
    // And a bundle naming one record twice, which does not divide into parts at all.
    let twice = payload::bundle::encode(&[parts[0], parts[0]]).unwrap();
    let twice = mallory.unit(
        PatientId::random(),
        UnitKind::Bundle,
        &payload::compress(&twice).unwrap(),
    );
    world.append(&[bundle, twice]);
    let outcome = world.sync(&bea);
    assert_eq!(
        (
            outcome.applied,
            outcome.forged,
            outcome.rejected,
            outcome.waiting
        ),
        (1, 1, 2, 0),
        "{outcome:?}"
    );
    assert_eq!(bea.session.open_record(own).unwrap().family, "Entry");
    assert!(bea.session.open_record(forged).is_err());
    assert!(bea.session.open_record(partial).is_err());

    // A bundle declaring more than any device makes is refused unexpanded; a page of bundles
    // that would hold more than the pull's limit at once is taken in up to it, and the rest of
    // the page (a colleague's record after them included) comes with the next pull.
    let mut oversized = vec![0u8; payload::bundle::MAX_BUNDLE_EXPANDED + 1];
    oversized[16] = 1;
    let oversized = mallory.unit(
        PatientId::random(),
        UnitKind::Bundle,
        &payload::compress(&oversized).unwrap(),
    );
    let at_limit = payload::compress(&vec![0u8; payload::bundle::MAX_BUNDLE_EXPANDED]).unwrap();
    let mut flood: Vec<Unit> = (0..130)
        .map(|_| mallory.unit(PatientId::random(), UnitKind::Bundle, &at_limit))
        .collect();
    flood.insert(0, oversized);
    world.append(&flood);
    let after_flood = nell
        .session
        .add_patient(&patient(valid_serial(44), "Xan", "Xu"))
        .unwrap();
    world.sync(&nell);
    let first = world.sync(&bea);
    assert_eq!(
        (first.rejected, first.applied, first.more),
        (1 + 128, 0, true),
        "{first:?}"
    );
    assert!(bea.session.open_record(after_flood).is_err());
    let second = world.sync(&bea);
    assert_eq!(
        (second.rejected, second.applied, second.more, second.waiting),
        (2, 1, false, 0),
        "{second:?}"
    );
    assert_eq!(bea.session.open_record(after_flood).unwrap().family, "Xu");
}

#[test]
fn attack_9_an_incident_identity_added_to_a_registered_record_is_refused() {
    use automerge::transaction::Transactable;
    let mut world = World::new();
    let nell = world.honest("Nell");
    let bea = world.honest("Bea");
    let paramedic = Role::Paramedic;
    let mut pam = world.hostile_granted("Pam", paramedic, paramedic);
    let patient_id = nell
        .session
        .add_patient(&patient(valid_serial(74), "Yara", "Yeats"))
        .unwrap();
    world.sync(&nell);
    world.sync(&bea);
    // Pam, a paramedic who may start incidents, writes an incident's identity into Yara's record
    // afterwards: "adult or child" would then decide NEWS2, and the record would leave the
    // duplicate-NHS-number checks.
    let plains = world.changes_of(patient_id);
    let mut doc = automerge::AutoCommit::load(&plains.concat()).unwrap();
    doc.set_actor(actor_of(pam.device));
    let heads = doc.get_heads();
    let incident = doorstep_core::incident::NewIncident {
        reference: "CAD-FORGED".to_owned(),
        place: String::new(),
        description: String::new(),
        sex: Sex::Female,
        age_band: doorstep_core::incident::AgeBand::From5To12,
        estimated_age: None,
        stated_group: None,
        occurred_at: None,
    }
    .checked(chrono::Utc::now(), pam.author(paramedic))
    .unwrap();
    doc.put(
        automerge::ROOT,
        "incident",
        serde_json::to_string(&incident).unwrap(),
    )
    .unwrap();
    doc.commit();
    let forged = doc.save_after(&heads);
    let unit = pam.unit(patient_id, UnitKind::Changes, &forged);
    world.append(&[unit]);
    let outcome = world.sync(&bea);
    assert_eq!((outcome.forged, outcome.applied), (1, 0), "{outcome:?}");
    let record = bea.session.open_record(patient_id).unwrap();
    assert!(record.incident.is_none());
    assert!(bea.session.incidents().unwrap().is_empty());
}
