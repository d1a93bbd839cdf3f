// How values read on screen. Presentation only: no clinical computation.
import type { Author, FlagKind, IncidentView, Risk } from "../api";

/** NHS numbers are read and written in 3-3-4 groups. */
export function nhsNumber(digits: string): string {
  const clean = digits.replace(/\s+/g, "");
  if (!/^\d{10}$/.test(clean)) return digits;
  return `${clean.slice(0, 3)} ${clean.slice(3, 6)} ${clean.slice(6)}`;
}

/** Whole years between a date of birth (YYYY-MM-DD) and `today`. */
export function ageInYears(birthDate: string, today: Date): number {
  const [year, month, day] = birthDate.split("-").map(Number);
  let age = today.getFullYear() - year;
  const beforeBirthday =
    today.getMonth() + 1 < month || (today.getMonth() + 1 === month && today.getDate() < day);
  if (beforeBirthday) age -= 1;
  return age;
}

/** "12 Mar 1940" */
export function longDate(isoDate: string): string {
  const [year, month, day] = isoDate.slice(0, 10).split("-").map(Number);
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  return `${day} ${months[month - 1]} ${year}`;
}

/** "just now", "4 minutes ago", "3 hours ago", "2 days ago" */
export function ago(iso: string, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? "" : "s"} ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} hour${hours === 1 ? "" : "s"} ago`;
  const days = Math.round(hours / 24);
  return `${days} days ago`;
}

/** Patients' days are UK days: dates and times are shown in UK time whatever the device's zone. */
export const UK_TIME_ZONE = "Europe/London";

const ukParts = new Intl.DateTimeFormat("en-GB", {
  timeZone: UK_TIME_ZONE,
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
  timeZoneName: "short",
});

function parts(at: Date): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of ukParts.formatToParts(at)) out[part.type] = part.value;
  return out;
}

/** "GMT" or "BST" at that moment. */
function zoneName(zone: string): string {
  return zone === "GMT+1" ? "BST" : zone === "UTC" ? "GMT" : zone;
}

/**
 * "26 Jun 00:30 BST": the date and the time in the same zone (UK time), with the zone named so
 * the hour repeated when the clocks go back reads unambiguously.
 */
export function dateTime(iso: string): string {
  const p = parts(new Date(iso));
  return `${Number(p.day)} ${p.month} ${p.hour}:${p.minute} ${zoneName(p.timeZoneName)}`;
}

/** The UK calendar date of a moment, YYYY-MM-DD. */
export function ukDate(at: Date): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: UK_TIME_ZONE }).format(at);
}

/**
 * "Overdue by 2 h 10 min", "Due in 40 min", "Continuous monitoring": when the next set is due.
 * `continuous` is the core's word that the set asks for continuous monitoring.
 */
export function dueText(nextDue: string | null, continuous: boolean, now: Date): string | null {
  if (!nextDue) return null;
  const due = new Date(nextDue).getTime();
  if (continuous) return "Continuous monitoring: next set due now";
  const minutes = Math.round((due - now.getTime()) / 60_000);
  const span = (m: number) => {
    const hours = Math.floor(m / 60);
    const rest = m % 60;
    return hours > 0 ? `${hours} h${rest ? ` ${rest} min` : ""}` : `${rest} min`;
  };
  if (minutes < 0) return `Overdue by ${span(-minutes)}`;
  if (minutes === 0) return "Due now";
  return `Due in ${span(minutes)} (${dateTime(nextDue)})`;
}

/** The words for why NEWS2 was not used. */
export function notApplicableWord(reason: "under-16" | "pregnant" | "postnatal"): string {
  switch (reason) {
    case "under-16":
      return "Under 16: paediatric chart";
    case "pregnant":
      return "Pregnant: maternity chart";
    case "postnatal":
      return "Postnatal: maternity chart";
  }
}

export type UkTime = { iso: string } | { error: string };

/**
 * A datetime-local input's value ("2026-06-26T00:30"), read as UK time whatever the device's own
 * zone, as RFC 3339. The hour skipped when the clocks go forward does not exist, and the hour
 * repeated when they go back is ambiguous: both are refused with what to do.
 */
export function fromUkInput(value: string): UkTime | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value);
  if (!match) return null;
  const [year, month, day, hour, minute] = match.slice(1).map(Number);
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const shown = `${Number(day)} ${["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][month - 1]} ${match[4]}:${match[5]}`;
  // UK time is UTC or UTC+1: the instants whose UK wall time is the one typed.
  const candidates = [0, 1]
    .map((offset) => wall - offset * 3_600_000)
    .filter((instant) => dateTime(new Date(instant).toISOString()).startsWith(shown));
  if (candidates.length === 0) {
    return { error: "That time does not exist in the UK: the clocks went forward. Enter the time shown on a clock that changed." };
  }
  if (candidates.length > 1) {
    return { error: "That time happened twice as the clocks went back: enter a time outside 01:00–02:00, or the time in GMT plus one minute." };
  }
  return { iso: new Date(candidates[0]).toISOString() };
}

/** Now as a datetime-local value in UK time, the latest a set may be taken. */
export function ukInputNow(now: Date): string {
  const p = new Intl.DateTimeFormat("en-CA", {
    timeZone: UK_TIME_ZONE,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(now);
  const part = (type: string) => p.find((x) => x.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")}T${part("hour")}:${part("minute")}`;
}

/** The band word clinicians read on the chart, never colour alone. */
export function riskWord(risk: Risk | null): string {
  switch (risk) {
    case "high":
      return "HIGH";
    case "medium":
      return "MEDIUM";
    case "low-medium":
      return "LOW-MEDIUM";
    case "low":
      return "LOW";
    default:
      return "NO SCORE";
  }
}

export const FLAG_LABELS: Record<FlagKind, string> = {
  dnacpr: "DNACPR",
  respect: "ReSPECT plan",
  "end-of-life-wishes": "End-of-life wishes",
  safeguarding: "Safeguarding",
  "child-protection": "Child protection",
  other: "Alert",
};

/** "Bea Birchall (nurse)" when the team's roster names the device, else "a nurse". */
export function authorName(author: Author | undefined, authors: Record<string, { name: string; role: string }>): string {
  if (!author) return "someone";
  const known = authors[author.device];
  const role = author.role.replace(/-/g, " ");
  return known ? `${known.name} (${role})` : `a ${role}`;
}

/** Who a row or banner is, after the name: NHS number and date of birth with age, or, for an
 *  incident record not yet identified, what the crew recorded instead. */
export function identityLine(
  who: { nhs_number: string | null; birth_date: string | null; incident: IncidentView | null },
  now: Date,
): string {
  const nhs = who.nhs_number ? `NHS No. ${nhsNumber(who.nhs_number)}` : "NHS No. not known";
  if (who.birth_date) return `${nhs} · born ${longDate(who.birth_date)} (${ageInYears(who.birth_date, now)} y)`;
  if (who.incident) {
    const age = who.incident.estimated_age !== null ? `, about ${who.incident.estimated_age} (estimated)` : "";
    return `${nhs} · ${who.incident.age_band_words}${age}, ${who.incident.age_group} · incident ${who.incident.reference}`;
  }
  return `${nhs} · date of birth not known`;
}
