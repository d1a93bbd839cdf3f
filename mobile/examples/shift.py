"""A community nurse's shift through Doorstep's mobile API, as an Android or iOS shell would drive
it (the Kotlin and Swift bindings have the same objects and methods).

Run with the Python bindings on the path (`bash scripts/bindings.sh`):

    PYTHONPATH=mobile/bindings/python python3 mobile/examples/shift.py DATA_DIR SERVER CODE

CODE is a one-time enrolment code from the organisation's administrator
(`doorstep admin enrol-code --team north --user-name "Nell Nightingale" --role nurse`). Every call
that touches the disk or the network blocks: a real shell makes them off its main thread.
"""

import json
import sys

import doorstep_mobile as doorstep

PIN = "246810"


def shift(data_dir: str, server: str, code: str) -> None:
    # The device store lives in the app's private directory; without a platform key store the
    # software sealer wraps the data key.
    store = doorstep.DeviceStore(data_dir, None)

    # Enrol once with the administrator's code: the store is created for the user and role the
    # code names, and comes back unlocked.
    session = store.enrol(server, code, PIN)
    print(f"enrolled as {session.user().name} ({session.user().role})")

    # A referral: register the patient (NHS numbers are checked modulus 11).
    patient = session.register_patient(
        doorstep.NewPatient(
            nhs_number="999 000 0050",
            given="Ada",
            family="Ashworth",
            birth_date="1938-04-12",
            sex="female",
            address_lines=["3 Mill Lane"],
            town="Ambridge",
            postcode="ZZ99 3AA",
            gp_ods_code="Y90001",
            gp_name="Lantern Row Surgery",
        )
    )

    # At the bedside: the score appears as values are typed, then the set is saved.
    typed = {"respiration_rate": 24, "spo2": 93}
    preview = session.preview_set(patient, json.dumps(typed), None)
    print(f"so far: partial={preview.partial}, at least {preview.risk} risk")

    vitals = {
        "respiration_rate": 24,
        "spo2": 93,
        "on_oxygen": False,
        "systolic_bp": 104,
        "pulse": 112,
        "consciousness": "A",
        "temperature": 38.4,
    }
    saved = session.save_set(patient, json.dumps(vitals), None, [])
    print(f"NEWS2 {saved.news2_total} ({saved.risk}): {saved.response}")

    session.add_note(patient, "Chest sounds clear; daughter present. GP informed.")
    session.set_care_plan(patient, "Daily visits; repeat NEWS2 each visit.")

    # The caseload, most urgent first.
    for row in session.caseload("", True):
        print(f"{row.family.upper()}, {row.given}  NEWS2 {row.news2_total} {row.risk}")

    # Sync when there is signal, with progress.
    class Progress(doorstep.SyncListener):
        def on_progress(self, progress):
            if progress.is_UPLOADING():
                print(f"  uploading {progress.done}/{progress.total}")

    summary = session.sync_once(Progress())
    print(f"synced: {summary.uploaded} up, {summary.downloaded} down")

    # Everything done is in the audit trail.
    actions = [entry.action for entry in session.audit()]
    print(f"audit: {len(actions)} entries, last {actions[-1]}")
    session.lock()


if __name__ == "__main__":
    shift(*sys.argv[1:4])
