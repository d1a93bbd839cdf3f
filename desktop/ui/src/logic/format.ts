// How values read on screen. Presentation only: no clinical computation.
import type { Author, FlagKind, Risk } from "../api";

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

/** "25 Nov 14:05" in the device's time zone. */
export function dateTime(iso: string): string {
  const at = new Date(iso);
  const time = at.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  return `${longDate(at.toISOString())} ${time}`;
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
};

/** "Bea Birchall (nurse)" when the team's roster names the device, else "a nurse". */
export function authorName(author: Author | undefined, authors: Record<string, { name: string; role: string }>): string {
  if (!author) return "someone";
  const known = authors[author.device];
  const role = author.role.replace(/-/g, " ");
  return known ? `${known.name} (${role})` : `a ${role}`;
}
