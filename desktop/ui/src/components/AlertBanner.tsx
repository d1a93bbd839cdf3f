// The record banner: who (name, NHS number 3-3-4, date of birth and age) and the alerts that
// must not be missed (allergies, DNACPR and end-of-life wishes, safeguarding).
import type { PatientRecord } from "../api";
import { FLAG_LABELS, ageInYears, longDate, nhsNumber } from "../logic/format";

export function AlertBanner({ record }: { record: PatientRecord }) {
  const allergies = record.allergies.filter((a) => a.status === "active");
  const flags = record.flags.filter((f) => f.status === "active");
  return (
    <section className="banner" aria-label="Patient banner">
      <div className="identity">
        <h1>
          {record.family.toUpperCase()}, {record.given}
        </h1>
        <dl>
          <dt>NHS No.</dt>
          <dd data-testid="nhs-number">{nhsNumber(record.nhs_number)}</dd>
          <dt>Born</dt>
          <dd>
            {longDate(record.birth_date)} ({ageInYears(record.birth_date, new Date())} y)
          </dd>
          <dt>Sex</dt>
          <dd>{record.sex}</dd>
        </dl>
      </div>
      <div className="alerts">
        {allergies.length === 0 ? (
          <p className="alert alert-none">No known allergies recorded</p>
        ) : (
          allergies.map((allergy) => (
            <p key={allergy.id} className="alert alert-allergy" role="alert">
              <strong>ALLERGY</strong> {allergy.substance}: {allergy.reaction} ({allergy.severity})
            </p>
          ))
        )}
        {flags.map((flag) => (
          <p key={flag.id} className={`alert alert-${flag.kind}`} role="alert">
            <strong>{FLAG_LABELS[flag.kind].toUpperCase()}</strong> {flag.detail}
          </p>
        ))}
      </div>
    </section>
  );
}
