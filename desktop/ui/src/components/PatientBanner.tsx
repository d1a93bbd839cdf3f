// The patient banner, fixed at the top of every patient screen (record, chart, conflicts, notes,
// observation entry): who (name, NHS number 3-3-4, date of birth and age, a marker when another
// patient on the device shares the family name) and what must not be missed (allergies, or
// whether anyone asked; DNACPR, ReSPECT and end-of-life wishes; safeguarding).
import { useEffect, useRef, type ReactNode } from "react";
import type { PatientRecord } from "../api";
import { FLAG_LABELS, ageInYears, authorName, dateTime, longDate, nhsNumber } from "../logic/format";

/** `emergency`: the emergency-access notice, kept in view with the banner while the record scrolls. */
export function PatientBanner({ record, emergency }: { record: PatientRecord; emergency?: ReactNode }) {
  const banner = useRef<HTMLElement>(null);
  // Its height, for what must stay clear of it: a field scrolled into view, the live score.
  useEffect(() => {
    const element = banner.current;
    if (!element) return;
    const root = document.documentElement.style;
    const measure = () => root.setProperty("--banner-h", `${element.offsetHeight}px`);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => {
      observer.disconnect();
      root.setProperty("--banner-h", "0px");
    };
  }, []);
  const allergies = record.allergies.filter((a) => a.status === "active");
  const flags = record.flags.filter((f) => f.status === "active");
  const status = record.allergy_status;
  return (
    <section ref={banner} className="banner" aria-label="Patient banner" data-testid="patient-banner">
      {emergency}
      <div className="identity">
        <h1 data-testid="banner-name">
          {record.display_name}
          {record.similar_name && (
            <span className="chip chip-similar" data-testid="similar-name-banner">
              Same family name as{" "}
              {record.similar_to
                .map(
                  (other) =>
                    `${other.family.toUpperCase()}, ${other.given}${other.birth_date ? ` (born ${longDate(other.birth_date)})` : ""}`,
                )
                .join("; ")}
              : check NHS No.
            </span>
          )}
        </h1>
        <dl>
          <dt>NHS No.</dt>
          <dd data-testid="nhs-number">
            {record.nhs_number ? nhsNumber(record.nhs_number) : <strong>Not known: patient not identified</strong>}
            {record.shares_nhs_number > 0 && (
              <span className="chip chip-similar" data-testid="shares-nhs-number">
                Another record on this device holds this NHS number: they are not read together until a clinician
                settles which is this patient's
              </span>
            )}
          </dd>
          <dt>Born</dt>
          <dd data-testid="banner-born">
            {record.birth_date
              ? `${longDate(record.birth_date)} (${ageInYears(record.birth_date, new Date())} y)`
              : record.incident
                ? `Not known${record.incident.age_band === "unknown" ? "" : `: ${record.incident.age_band_words}`}${
                    record.incident.estimated_age !== null ? `, about ${record.incident.estimated_age} (estimated)` : ""
                  }; treated as ${record.incident.age_group === "adult" ? "an adult (16 or over)" : "a child (under 16)"}`
                : "Not known"}
          </dd>
          <dt>Sex</dt>
          <dd>{record.sex}</dd>
          {record.incident && (
            <>
              <dt>Incident</dt>
              <dd data-testid="banner-incident">
                {record.incident.reference}, started {dateTime(record.incident.started)}
                {record.incident.place ? ` · ${record.incident.place}` : ""}
              </dd>
            </>
          )}
        </dl>
      </div>
      <div className="alerts" data-testid="banner-alerts">
        {allergies.map((allergy) => (
          <p key={allergy.id} className="alert alert-allergy">
            <strong>ALLERGY</strong> {allergy.description}
          </p>
        ))}
        {status.status === "no-known-allergies" && (
          <p className="alert alert-none" data-testid="allergy-status">
            No known allergies (confirmed by {authorName(status.by, record.authors)}, {dateTime(status.at)})
          </p>
        )}
        {status.status === "not-recorded" && (
          <p className="alert alert-unknown" data-testid="allergy-status">
            <strong>ALLERGIES NOT RECORDED</strong> ask before giving anything
          </p>
        )}
        {flags.map((flag) => (
          <p key={flag.id} className={`alert alert-${flag.kind}`}>
            <strong>{FLAG_LABELS[flag.kind].toUpperCase()}</strong> {flag.detail}
          </p>
        ))}
      </div>
    </section>
  );
}
