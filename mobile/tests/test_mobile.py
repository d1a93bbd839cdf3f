"""Host tests of doorstep-mobile through its generated Python bindings, against a real sync
server on loopback. Driven by `tests/tests/mobile_python.rs`, which starts the server, issues the
enrolment codes, revokes a device between phases, and passes everything in the environment:

    phase "shift":   two devices enrol (Nell's with a Python key store wrapping its data key), a
                     shift is recorded on one and received on the other, wrong PINs back off.
    phase "revoked": Nell's device, revoked, wipes itself on its next sync and its platform key is
                     destroyed.

Prints one line per check and ends with "mobile: N checks passed".
"""

import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time

import doorstep_mobile as doorstep

PIN = "246810"
checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1
    print(f"ok - {what}")


class HmacSealer(doorstep.KeySealer):
    """A stand-in for Android Keystore: encrypt-then-MAC with a key the 'platform' keeps.
    HMAC-SHA256 as the keystream and the tag (the standard library has no AES)."""

    def __init__(self, key, log):
        self.key = key
        self.log = log

    def name(self):
        return "python-test-v1"

    def _stream(self, nonce, length):
        out = b""
        counter = 0
        while len(out) < length:
            out += hmac.new(self.key, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
            counter += 1
        return out[:length]

    def seal(self, secret):
        self.log.append("seal")
        nonce = secrets.token_bytes(16)
        body = bytes(a ^ b for a, b in zip(secret, self._stream(nonce, len(secret))))
        tag = hmac.new(self.key, nonce + body, hashlib.sha256).digest()
        return nonce + body + tag

    def unseal(self, sealed):
        self.log.append("unseal")
        nonce, body, tag = sealed[:16], sealed[16:-32], sealed[-32:]
        if not hmac.compare_digest(tag, hmac.new(self.key, nonce + body, hashlib.sha256).digest()):
            raise doorstep.KeySealerError.Failed("the sealed key was altered")
        return bytes(a ^ b for a, b in zip(body, self._stream(nonce, len(body))))

    def destroy(self):
        self.log.append("destroy")


class PythonKeyStore(doorstep.KeyStore):
    """Keeps one sealing key per device, as a platform key store does; in a file, so that the
    next process (the next phase) finds it, as the app finds Android Keystore's after a restart."""

    def __init__(self, path):
        self.path = path
        self.keys = {}
        if os.path.exists(path):
            with open(path) as file:
                self.keys = {device: bytes.fromhex(key) for device, key in json.load(file).items()}
        self.log = []

    def _save(self):
        with open(self.path, "w") as file:
            json.dump({device: key.hex() for device, key in self.keys.items()}, file)

    def create(self, device):
        self.keys[device] = secrets.token_bytes(32)
        self._save()
        return HmacSealer(self.keys[device], self.log)

    def open(self, name, device):
        if name != "python-test-v1" or device not in self.keys:
            return None
        return HmacSealer(self.keys[device], self.log)


class Progress(doorstep.SyncListener):
    def __init__(self):
        self.seen = []

    def on_progress(self, progress):
        self.seen.append(progress)


def new_patient(nhs, given, family, born):
    return doorstep.NewPatient(
        nhs_number=nhs, given=given, family=family, birth_date=born, sex="female",
        address_lines=["1 Lantern Row"], town="Ambridge", postcode="ZZ99 3AB",
        gp_ods_code="Y90001", gp_name="Lantern Row Surgery",
    )


COMPLETE = {"respiration_rate": 26, "spo2": 93, "on_oxygen": False, "systolic_bp": 95,
            "pulse": 120, "consciousness": "A", "temperature": 38.6}


def phase_shift(env):
    server = env["DOORSTEP_SERVER"]
    key_store = PythonKeyStore(env["KEYS_FILE"])
    nell_store = doorstep.DeviceStore(env["NELL_DIR"], key_store)
    check(not nell_store.is_set_up() and nell_store.users() == [], "a new store is not set up")
    nell = nell_store.enrol(server, env["NELL_CODE"], PIN)
    check(nell.user().name == "Nell Nightingale" and nell.user().role == "nurse",
          "enrolled with the user and role the code names")
    check("seal" in key_store.log, "the Python key store sealed the data key at enrolment")

    bea_store = doorstep.DeviceStore(env["BEA_DIR"], None)
    bea = bea_store.enrol(server, env["BEA_CODE"], PIN)
    print(json.dumps({"nell_device": nell.device_id()}), flush=True)
    check(nell.key_sealer() == "python-test-v1" and bea.key_sealer() == "software-v1",
          "each device says what wraps its key")

    # The shift on Nell's device: two patients, a complete set, a partial one, a note, a plan.
    ada = nell.register_patient(new_patient("999 000 0050", "Ada", "Ashworth", "1938-04-12"))
    bo = nell.register_patient(new_patient("999 000 0069", "Bo", "Bramley", "1944-09-30"))
    try:
        nell.register_patient(new_patient("999 123 4560", "No", "Number", "1950-01-01"))
        check(False, "an invalid NHS number is refused")
    except doorstep.MobileError.InvalidInput as error:
        check(error.field == "nhs_number" and error.code == "bad-input",
              "an invalid NHS number is refused, naming the field")

    preview = nell.preview_set(ada, json.dumps({"respiration_rate": 26, "spo2": 93}), None)
    check(preview.partial and preview.news2_total is None and preview.risk is not None,
          "a preview of two values is partial: no total, the risk the values force")
    bad = nell.preview_set(ada, json.dumps({"respiration_rate": 400}), None)
    check(bad.errors and bad.errors[0].startswith("respiration_rate"),
          "a preview lists a refused value by its field")
    saved = nell.save_set(ada, json.dumps(COMPLETE), None, [])
    check(saved.news2_total == 10 and saved.risk == "high" and saved.response,
          "a complete set is scored by the core: NEWS2 10, high, with the response to take")
    beside = nell.save_set(ada, json.dumps({**COMPLETE, "diastolic_bp": 60, "gcs_eye": 4,
                                            "gcs_verbal": "T", "gcs_motor": 6}), None, [])
    shown = [(item["label"], item["text"]) for item in json.loads(beside.json)["additional"]]
    check(beside.news2_total == 10 and shown == [("diastolic blood pressure", "60 mmHg"),
          ("GCS", "E4 VT M6 (no total: a response could not be tested)")],
          "observations beside NEWS2 come back in the core's words and never change the score")
    try:
        nell.save_set(ada, json.dumps({**COMPLETE, "blood_glucose": 110}), None, [])
        check(False, "a glucose in mg/dL is refused")
    except doorstep.MobileError.InvalidInput as error:
        check(error.field == "blood_glucose", "a glucose in mg/dL is refused, naming the field")
    alone = nell.save_set(ada, json.dumps({"blood_glucose": 2.4}), None, [])
    check(alone.news2_total is None and json.loads(alone.json)["beside_only"],
          "a glucose on its own is kept beside NEWS2, never scored")
    nell.save_set(bo, json.dumps({"respiration_rate": 18, "pulse": 80}), None, [])
    try:
        nell.save_set(bo, json.dumps({"pulse": 32}), None, [])
        check(False, "an unusual value must be confirmed")
    except doorstep.MobileError.InvalidInput as error:
        check(error.code == "unusual-values" and error.field == "pulse",
              "an unusual value must be confirmed before it is saved")
    nell.add_note(ada, "Chest sounds clear; daughter present. GP informed.")
    nell.set_care_plan(ada, "Daily visits; repeat NEWS2 each visit.")

    # A crew's stranger: recorded at once, then identified as Bo and read as one with her record.
    try:
        nell.start_incident(doorstep.NewIncident(
            reference="CAD-7", place="", description="", sex="female", age_band="unknown",
            estimated_age=None, age_group=None, occurred_at=None))
        check(False, "an unknown age needs adult or child")
    except doorstep.MobileError.InvalidInput as error:
        check("adult (16 or over) or a child" in error.message,
              "an unknown age without adult or child is refused, saying why")
    stranger = nell.start_incident(doorstep.NewIncident(
        reference="CAD-7", place="Bus station", description="Fall, confused", sex="female",
        age_band="80+", estimated_age=82, age_group=None, occurred_at=None))
    scene = nell.save_set(stranger, json.dumps({"respiration_rate": 18, "pulse": 80}), None, [])
    incidents = nell.incidents()
    check([row.id for row in incidents] == [stranger] and incidents[0].nhs_number == ""
          and incidents[0].incident_reference == "CAD-7"
          and incidents[0].display_name == "Unknown female, 80 years or over (about 82)",
          "the incident is listed with its temporary name and no NHS number")
    preview = json.loads(nell.identify_preview(stranger, "999 000 0069"))
    check([match["id"] for match in preview] == [bo] and preview[0]["mismatches"] == [],
          "the preview names whose record the number is, with nothing to check")
    check(nell.identify_incident(stranger, "999 000 0069", "relative-or-carer") == bo,
          "identified: the registered record is the one to show")
    both = json.loads(nell.record(bo))
    check(scene.id in [entry["id"] for entry in both["observations"]]
          and both["linked"][0]["id"] == stranger,
          "the registered record shows the scene set and names the linked incident")

    rows = nell.caseload("", True)
    check([row.family for row in rows] == ["Ashworth", "Bramley"],
          "the caseload lists the most urgent first")
    check(rows[0].news2_total == 10 and rows[0].nhs_number == "999 000 0050",
          "a caseload row carries the score and the NHS number grouped 3-3-4")
    found = nell.caseload("bram", True)
    check([row.family for row in found] == ["Bramley"], "search by name")
    record = json.loads(nell.record(ada))
    check(record["care_plan"].startswith("Daily visits") and len(record["notes"]) == 1,
          "the record view carries the care plan and the note")

    # Bea's device listens to the server's push stream on its own thread, as a shell does.
    class Notified(doorstep.ChangeListener):
        def __init__(self):
            self.event = threading.Event()

        def on_change(self, patient_id):
            self.event.set()
            return False

        def keep_listening(self):
            return True

    notified = Notified()
    listening = threading.Thread(target=bea.listen, args=(notified,), daemon=True)
    listening.start()
    # The stream opens in the background; a notice sent before it opens would be missed.
    time.sleep(1.0)

    progress = Progress()
    summary = nell.sync_once(progress)
    check(summary.uploaded >= 2 and summary.forged == 0 and summary.keys_refused == 0,
          "Nell's shift goes up")
    check(any(p.is_UPLOADING() for p in progress.seen), "sync progress reaches the listener")

    check(notified.event.wait(10), "Bea's device is told the team changed something")
    listening.join(10)
    check(not listening.is_alive(), "and stops listening when its listener says so")

    received = bea.sync_once(None)
    check(received.downloaded >= 2, "Bea's device takes the shift in")
    rows = bea.caseload("", True)
    check([row.family for row in rows] == ["Ashworth", "Bramley"] and rows[0].news2_total == 10,
          "the shift shows on Bea's device, scored the same")
    bea_record = json.loads(bea.record(ada))
    check(bea_record["notes"][0]["text"].startswith("Chest sounds clear"),
          "with Nell's note")

    # Entered in error on Bea's device, then back to Nell's.
    set_id = bea_record["observations"][0]["id"]
    bea.mark_set_entered_in_error(set_id, "wrong patient")
    bea.sync_once(None)
    nell.sync_once(None)
    nell_record = json.loads(nell.record(ada))
    check(nell_record["observations"][0]["entered_in_error"]["reason"] == "wrong patient",
          "a set marked entered in error on one device is marked on the other")
    actions = [entry.action for entry in nell.audit()]
    check("record-observation" in actions and "view-record" in actions,
          "the audit view lists what was done")

    # Locked, a session refuses; unlocking opens the data key through the Python key store.
    nell.lock()
    try:
        nell.caseload("", True)
        check(False, "a locked session refuses")
    except doorstep.MobileError.Locked:
        check(True, "a locked session refuses until unlocked")
    unsealed = key_store.log.count("unseal")
    again = nell_store.unlock(nell_store.users()[0].id, PIN)
    check(key_store.log.count("unseal") > unsealed,
          "unlock opens the data key through the Python key store")
    again.lock()

    # Wrong PINs on Bea's device: attempts count down, then the device makes her wait.
    bea.lock()
    user = bea_store.users()[0]
    left = []
    locked_out = None
    for _ in range(6):
        try:
            bea_store.unlock(user.id, "000000")
        except doorstep.MobileError.WrongPin as error:
            left.append(error.attempts_left)
        except doorstep.MobileError.LockedOut as error:
            locked_out = error.seconds
            break
    check(len(left) >= 2 and all(a > b for a, b in zip(left, left[1:])),
          f"each wrong PIN says how many attempts are left, one fewer each time ({left})")
    check(locked_out is not None and locked_out > 0,
          f"then the device makes her wait ({locked_out} s)")
    try:
        bea_store.unlock(user.id, PIN)
        check(False, "even the right PIN waits out the lock")
    except doorstep.MobileError.LockedOut:
        check(True, "even the right PIN waits out the lock")

    # A phone whose platform key store lost the device's key (a backup restored to a new phone):
    # the store can never open; it says so without wiping, and can then be discarded.
    cal_store = doorstep.DeviceStore(env["CAL_DIR"], PythonKeyStore(env["CAL_KEYS"]))
    cal_store.enrol(server, env["CAL_CODE"], PIN).lock()
    os.remove(env["CAL_KEYS"])
    forgetful = doorstep.DeviceStore(env["CAL_DIR"], PythonKeyStore(env["CAL_KEYS"]))
    try:
        forgetful.users()
        check(False, "a store whose key is gone says so")
    except doorstep.MobileError.KeyStoreUnavailable:
        check(True, "a store whose platform key is gone says so, and wipes nothing")
    try:
        bea_store.discard_unopenable()
        check(False, "a store that still opens is not discarded")
    except doorstep.MobileError.Other as error:
        check(error.code == "still-opens", "a store that still opens is not discarded")
    forgetful.discard_unopenable()
    check(not forgetful.is_set_up(), "the unopenable store is discarded, ready to enrol afresh")


def phase_revoked(env):
    key_store = PythonKeyStore(env["KEYS_FILE"])
    nell_store = doorstep.DeviceStore(env["NELL_DIR"], key_store)
    nell = nell_store.unlock(nell_store.users()[0].id, PIN)
    try:
        nell.sync_once(None)
        check(False, "a revoked device is told so")
    except doorstep.MobileError.Revoked:
        check(True, "the revoked device is told so on its next sync")
    check("destroy" in key_store.log, "its platform key is destroyed")
    check(not nell_store.is_set_up(), "and its store is wiped")
    try:
        nell_store.users()
        check(False, "a wiped store says so")
    except doorstep.MobileError.Wiped as error:
        check("enrol the device again" in error.message, "a wiped store says to enrol again")


if __name__ == "__main__":
    {"shift": phase_shift, "revoked": phase_revoked}[sys.argv[1]](os.environ)
    print(f"mobile: {checks} checks passed")
