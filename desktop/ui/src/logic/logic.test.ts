import { describe, expect, it } from "vitest";
import type { SyncStatus } from "../api";
import { columnX, placeValue, visibleBands } from "./chart";
import { EMPTY_FORM, enteredCount, hasAdditional, parseForm } from "./entry";
import { ageInYears, ago, authorName, dateTime, dueText, fromUkInput, identityLine, nhsNumber, riskWord, ukDate, ukInputNow } from "./format";
import { syncText } from "./syncText";

const now = new Date("2026-11-25T12:00:00Z");

const base: SyncStatus = {
  unlocked: true,
  enrolled: true,
  server: "http://127.0.0.1:8443",
  activity: { phase: "idle" },
  last_sync: "2026-11-25T11:56:00Z",
  pending: 0,
  last_attempt_at: "2026-11-25T11:56:00Z",
  error_code: null,
  error: null,
  waiting: 0,
  idle_limit_seconds: 300,
  clock_skew_seconds: 2,
  clock_wrong: false,
  protocol: "Community nursing (doorstep-community v1)",
};

describe("sync status words", () => {
  const cases: [string, Partial<SyncStatus>, string, string][] = [
    ["synced", {}, "synced", "Synced 4 minutes ago"],
    ["waiting", { pending: 3 }, "waiting", "3 records with changes waiting; last synced 4 minutes ago"],
    [
      "offline with changes",
      { pending: 1, error_code: "offline", error: "unreachable" },
      "offline",
      "Offline: 1 record with changes waiting; last synced 4 minutes ago",
    ],
    ["offline never synced", { last_sync: null, error_code: "offline" }, "offline", "Offline: never synced"],
    [
      "retrying while offline",
      { pending: 2, error_code: "offline", activity: { phase: "uploading", done: 0, total: 0 } },
      "offline",
      "Offline, trying again: 2 records with changes waiting; last synced 4 minutes ago",
    ],
    ["uploading", { activity: { phase: "uploading", done: 2, total: 5 } }, "syncing", "Syncing: sending 2 of 5"],
    ["downloading", { activity: { phase: "downloading", received: 40 } }, "syncing", "Syncing: received 40"],
    ["refused", { error_code: "refused", error: "the server refused" }, "problem", "Sync problem: the server refused"],
    ["not enrolled", { enrolled: false }, "local", "On this device only (not enrolled for sync)"],
    [
      "colleagues' changes held back",
      { waiting: 2 },
      "waiting",
      "Synced 4 minutes ago; 2 changes from colleagues wait for their sender's enrolment or key",
    ],
    [
      "a server that cannot be trusted",
      { error_code: "untrusted-server", error: "the sync server sent team membership that the organisation did not sign" },
      "problem",
      "Sync problem: the sync server sent team membership that the organisation did not sign",
    ],
  ];
  for (const [name, change, tone, text] of cases) {
    it(name, () => {
      expect(syncText({ ...base, ...change }, now)).toEqual({ tone, text });
    });
  }
});

describe("observation entry", () => {
  it("turns typed text into a set and names what is not a number", () => {
    const parsed = parseForm({
      text: { respiration_rate: "18", pulse: "9O", temperature: "37,4", spo2: "" },
      onOxygen: false,
      consciousness: "A",
    });
    expect(parsed.vitals).toEqual({ respiration_rate: 18, temperature: 37.4, on_oxygen: false, consciousness: "A" });
    expect(Object.keys(parsed.errors)).toEqual(["pulse"]);
    expect(parsed.errors.pulse).toContain("whole number");
  });

  it("refuses a fraction where the chart takes whole numbers", () => {
    expect(parseForm({ ...EMPTY_FORM, text: { systolic_bp: "120.5" } }).errors.systolic_bp).toBeDefined();
  });

  it("counts entered parameters out of seven", () => {
    expect(enteredCount({})).toBe(0);
    expect(enteredCount({ pulse: 80, on_oxygen: false, consciousness: "A" })).toBe(3);
  });

  it("takes the observations beside NEWS2 and never counts them among the seven", () => {
    const form = {
      ...EMPTY_FORM,
      text: { systolic_bp: "150", diastolic_bp: "104", blood_glucose: "5,6", gcs_eye: "4", oxygen_device: "venturi-mask", urine_protein: "++", pain_score: "3.5" },
    };
    const parsed = parseForm(form);
    expect(parsed.vitals).toEqual({
      systolic_bp: 150,
      diastolic_bp: 104,
      blood_glucose: 5.6,
      gcs_eye: 4,
      oxygen_device: "venturi-mask",
      urine_protein: "++",
    });
    expect(Object.keys(parsed.errors)).toEqual(["pain_score"]);
    expect(enteredCount(parsed.vitals)).toBe(1);
    expect(hasAdditional(form)).toBe(true);
    expect(hasAdditional({ ...EMPTY_FORM, text: { pulse: "80" } })).toBe(false);
    // A meter's LO and an untestable GCS response go to the core as letters, not numbers.
    const letters = parseForm({ ...EMPTY_FORM, text: { blood_glucose: "lo", gcs_eye: "c", gcs_verbal: "t", gcs_motor: "5" } });
    expect(letters.vitals).toEqual({ blood_glucose: "LO", gcs_eye: "C", gcs_verbal: "T", gcs_motor: 5 });
    expect(parseForm({ ...EMPTY_FORM, text: { gcs_motor: "T" } }).errors.gcs_motor).toContain("whole number");
    // The fetal heart is not sent where the form does not offer it.
    expect(parseForm({ ...EMPTY_FORM, text: { fetal_heart_rate: "140" } }, { pregnancy: false }).vitals).toEqual({});
  });
});

describe("chart geometry", () => {
  it("clips bands to the drawn range, half a step either side of the chart's numbers", () => {
    const bands = [
      { from: 1, to: 8, score: 3 },
      { from: 9, to: 11, score: 1 },
      { from: 12, to: 20, score: 0 },
      { from: 21, to: 24, score: 2 },
      { from: 25, to: 80, score: 3 },
    ];
    expect(visibleBands("respiration_rate", bands)).toEqual([
      { low: 4, high: 8.5, score: 3 },
      { low: 8.5, high: 11.5, score: 1 },
      { low: 11.5, high: 20.5, score: 0 },
      { low: 20.5, high: 24.5, score: 2 },
      { low: 24.5, high: 40, score: 3 },
    ]);
  });

  it("gives every band a row of the same height, as the paper chart does", () => {
    const bands = visibleBands("spo2", [
      { from: 30, to: 91, score: 3 },
      { from: 92, to: 93, score: 2 },
      { from: 94, to: 95, score: 1 },
      { from: 96, to: 100, score: 0 },
    ]);
    // Four rows of 50 px on a 200 px axis: 80–91.5, 91.5–93.5, 93.5–95.5, 95.5–100.
    expect(placeValue(bands, 100, 200)).toEqual({ y: 0, clipped: null });
    expect(placeValue(bands, 92.5, 200)).toEqual({ y: 125, clipped: null });
    expect(placeValue(bands, 80, 200)).toEqual({ y: 200, clipped: null });
    expect(placeValue(bands, 70, 200)).toEqual({ y: 200, clipped: "below" });
  });

  it("spaces columns evenly", () => {
    expect(columnX(0, 4, 400)).toBe(50);
    expect(columnX(3, 4, 400)).toBe(350);
    expect(columnX(0, 1, 400)).toBe(200);
  });
});

describe("formatting", () => {
  it("says who a row is: NHS number and age, or what the crew recorded of a stranger", () => {
    const now = new Date(2026, 11, 3);
    expect(identityLine({ nhs_number: "9991000100", birth_date: "1961-03-04", incident: null }, now)).toBe(
      "NHS No. 999 100 0100 · born 4 Mar 1961 (65 y)",
    );
    const incident = {
      reference: "CAD-7",
      place: "",
      description: "",
      age_band: "unknown" as const,
      age_band_words: "age not known",
      estimated_age: 60,
      age_group: "adult" as const,
      started: "2026-12-03T09:00:00Z",
      occurred_at: null,
      by: { user: "u", role: "paramedic", device: "d" },
      temporary_name: "Unknown male, about 60 (estimated), adult",
    };
    expect(identityLine({ nhs_number: null, birth_date: null, incident }, now)).toBe(
      "NHS No. not known · age not known, about 60 (estimated), adult · incident CAD-7",
    );
  });

  it("groups NHS numbers 3-3-4", () => {
    expect(nhsNumber("9990000352")).toBe("999 000 0352");
    expect(nhsNumber("not a number")).toBe("not a number");
  });

  it("counts age in whole years, the day before and on the birthday", () => {
    expect(ageInYears("1940-11-26", now)).toBe(85);
    expect(ageInYears("1940-11-25", now)).toBe(86);
  });

  it("says how long ago in words", () => {
    expect(ago("2026-11-25T11:59:30Z", now)).toBe("just now");
    expect(ago("2026-11-25T11:59:00Z", now)).toBe("1 minute ago");
    expect(ago("2026-11-25T09:00:00Z", now)).toBe("3 hours ago");
  });

  it("names an entry's author from the roster, or by role when the device is not on it", () => {
    const authors = { "dev-1": { name: "Bea Birchall", role: "nurse" } };
    expect(authorName({ user: "u", role: "nurse", device: "dev-1" }, authors)).toBe("Bea Birchall (nurse)");
    expect(authorName({ user: "u", role: "healthcare-assistant", device: "dev-9" }, authors)).toBe(
      "a healthcare assistant",
    );
  });

  it("always gives a band word", () => {
    expect(riskWord("low-medium")).toBe("LOW-MEDIUM");
    expect(riskWord(null)).toBe("NO SCORE");
  });
});

describe("dates and times read in UK time, across the clock changes", () => {
  // (moment, shown) — the date and the time always from the same zone.
  const cases: [string, string][] = [
    // 00:30 BST on 26 June is 23:30 UTC on the 25th: the 26th, not "25 Jun 00:30".
    ["2026-06-25T23:30:00Z", "26 Jun 00:30 BST"],
    ["2026-12-01T23:30:00Z", "1 Dec 23:30 GMT"],
    // Clocks go forward at 01:00 GMT on 29 March 2026.
    ["2026-03-29T00:59:00Z", "29 Mar 00:59 GMT"],
    ["2026-03-29T01:00:00Z", "29 Mar 02:00 BST"],
    // Clocks go back at 01:00 GMT on 25 October 2026: 01:30 happens twice, told apart by the zone.
    ["2026-10-25T00:30:00Z", "25 Oct 01:30 BST"],
    ["2026-10-25T01:30:00Z", "25 Oct 01:30 GMT"],
  ];
  for (const [iso, shown] of cases) {
    it(`${iso} reads ${shown}`, () => expect(dateTime(iso)).toBe(shown));
  }
  it("the UK date of a moment", () => {
    expect(ukDate(new Date("2026-06-25T23:30:00Z"))).toBe("2026-06-26");
    expect(ukDate(new Date("2026-12-01T23:30:00Z"))).toBe("2026-12-01");
  });
});

describe("when the next set is due", () => {
  const now = new Date("2026-06-01T12:00:00Z");
  it("overdue", () => expect(dueText("2026-06-01T09:50:00Z", false, now)).toBe("Overdue by 2 h 10 min"));
  it("due later", () => expect(dueText("2026-06-01T12:40:00Z", false, now)).toBe("Due in 40 min (1 Jun 13:40 BST)"));
  it("continuous", () => expect(dueText("2026-06-01T11:00:00Z", true, now)).toBe("Continuous monitoring: next set due now"));
  it("at the planned visit", () => expect(dueText(null, false, now)).toBeNull());
});

describe("a time typed for a set is UK time, whatever the device's zone", () => {
  const cases: [string, string | null][] = [
    // 00:30 on 26 June in the UK is 23:30 UTC on the 25th.
    ["2026-06-26T00:30", "2026-06-25T23:30:00.000Z"],
    ["2026-12-01T23:30", "2026-12-01T23:30:00.000Z"],
    // 01:30 on 29 March 2026 never happens in the UK; 01:30 on 25 October happens twice.
    ["2026-03-29T01:30", null],
    ["2026-10-25T01:30", null],
    ["2026-10-25T02:30", "2026-10-25T02:30:00.000Z"],
  ];
  for (const [typed, iso] of cases) {
    it(typed, () => {
      const read = fromUkInput(typed);
      if (iso === null) expect(read && "error" in read).toBe(true);
      else expect(read).toEqual({ iso });
    });
  }
  it("now as the input's maximum", () => expect(ukInputNow(new Date("2026-06-25T23:30:00Z"))).toBe("2026-06-26T00:30"));
});
