// The words of the always-visible sync status: offline / syncing with progress / synced N minutes
// ago / N changes waiting. Decided here, from what the core reports, so it can be tested.
import type { SyncStatus } from "../api";
import { ago } from "./format";

export type Tone = "offline" | "syncing" | "synced" | "waiting" | "problem" | "local";

export type StatusLine = { tone: Tone; text: string };

function changes(n: number): string {
  return `${n} record${n === 1 ? "" : "s"} with changes waiting`;
}

export function syncText(status: SyncStatus, now: Date): StatusLine {
  if (!status.enrolled) {
    return { tone: "local", text: "On this device only (not enrolled for sync)" };
  }
  const activity = status.activity;
  const last = status.last_sync ? `last synced ${ago(status.last_sync, now)}` : "never synced";
  const waiting = status.pending > 0 ? `${changes(status.pending)}; ` : "";
  // Still unreachable since the last attempt: a new attempt has not reached the server yet, so it
  // is not "syncing" until something moves.
  if (status.error_code === "offline" && activity.phase === "uploading" && activity.total === 0) {
    return { tone: "offline", text: `Offline, trying again: ${waiting}${last}` };
  }
  if (activity.phase === "uploading") {
    const progress = activity.total > 0 ? ` ${activity.done} of ${activity.total}` : "";
    return { tone: "syncing", text: `Syncing: sending${progress}` };
  }
  if (activity.phase === "downloading") {
    return { tone: "syncing", text: `Syncing: received ${activity.received}` };
  }
  if (status.error_code === "offline") {
    return { tone: "offline", text: `Offline: ${waiting}${last}` };
  }
  if (status.error_code) {
    return { tone: "problem", text: `Sync problem: ${status.error ?? status.error_code}` };
  }
  if (status.pending > 0) {
    return { tone: "waiting", text: `${changes(status.pending)}; ${last}` };
  }
  if (status.last_sync && status.waiting > 0) {
    const n = status.waiting;
    return {
      tone: "waiting",
      text: `Synced ${ago(status.last_sync, now)}; ${n} change${n === 1 ? "" : "s"} from colleagues wait for their sender's enrolment or key`,
    };
  }
  if (status.last_sync) {
    return { tone: "synced", text: `Synced ${ago(status.last_sync, now)}` };
  }
  return { tone: "waiting", text: "Not synced yet" };
}
