//! The code systems, codes, units and profiles of UK Core that Doorstep emits (CLINICAL.md, "FHIR
//! R4 / UK Core"; the UK Core NEWS2 example bundle `UKCore-Bundle-NEWS2Observations-Example`).

pub const SNOMED: &str = "http://snomed.info/sct";
pub const LOINC: &str = "http://loinc.org";
pub const UCUM: &str = "http://unitsofmeasure.org";
pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
pub const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// Organisation Data Service codes: GP practices and trusts.
pub const ODS_CODE: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
pub const ALLERGY_CLINICAL: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
pub const ALLERGY_VERIFICATION: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";
pub const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
pub const CONDITION_VERIFICATION: &str =
    "http://terminology.hl7.org/CodeSystem/condition-ver-status";
pub const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
/// The core extension (an R5 element) for when a condition was asserted: the problem list's
/// as-of time, so that an older list is never taken for a newer one.
pub const CONDITION_ASSERTED_DATE: &str =
    "http://hl7.org/fhir/StructureDefinition/condition-assertedDate";
/// SNOMED CT 304253006 |Not for resuscitation (finding)|: how GP systems code a DNACPR decision.
pub const NOT_FOR_RESUSCITATION: (&str, &str) = ("304253006", "Not for resuscitation");
/// SNOMED CT 716186003 |No known allergy (situation)|: UK Core records "no known allergies" as
/// an AllergyIntolerance with this code (UK Core AllergyIntolerance guidance, "Handling of 'No
/// known allergies'").
pub const NO_KNOWN_ALLERGY: (&str, &str) = ("716186003", "No known allergy");
/// Doorstep's alert kinds. UK Core leaves Flag.code to local value sets; the kinds other than
/// DNACPR carry this code and the text the clinician wrote.
pub const ALERT_KIND: &str = "https://doorstep.invalid/CodeSystem/alert-kind";
/// Doorstep's own identifiers for what it records (random UUIDs: no patient information).
pub const DOORSTEP_ID: &str = "https://tools.ietf.org/html/rfc4122";

const PROFILE_BASE: &str = "https://fhir.hl7.org.uk/StructureDefinition/";

pub fn profile(name: &str) -> String {
    format!("{PROFILE_BASE}{name}")
}

/// One vital sign as UK Core codes it: the LOINC code its profile fixes, the SNOMED CT concept
/// beside it, and the UCUM unit.
#[derive(Debug)]
pub struct VitalCode {
    pub profile: &'static str,
    pub loinc: (&'static str, &'static str),
    pub snomed: (&'static str, &'static str),
    /// UCUM code and its human unit.
    pub unit: (&'static str, &'static str),
}

pub const RESPIRATORY_RATE: VitalCode = VitalCode {
    profile: "UKCore-Observation-VitalSigns",
    loinc: ("9279-1", "Respiratory rate"),
    snomed: ("86290005", "Respiratory rate"),
    unit: ("/min", "breaths per minute"),
};

pub const OXYGEN_SATURATION: VitalCode = VitalCode {
    profile: "UKCore-Observation-VitalSigns",
    loinc: ("2708-6", "Oxygen saturation in Arterial blood"),
    snomed: ("103228002", "Hemoglobin saturation with oxygen"),
    unit: ("%", "percent"),
};

/// Pulse oximetry: LOINC's code for how Doorstep's SpO2 is measured, alongside 2708-6.
pub const PULSE_OXIMETRY_LOINC: (&str, &str) = (
    "59408-5",
    "Oxygen saturation in Arterial blood by Pulse oximetry",
);

pub const HEART_RATE: VitalCode = VitalCode {
    profile: "UKCore-Observation-VitalSigns",
    loinc: ("8867-4", "Heart rate"),
    snomed: ("364075005", "Heart rate"),
    unit: ("/min", "beats per minute"),
};

pub const BODY_TEMPERATURE: VitalCode = VitalCode {
    profile: "UKCore-Observation-VitalSigns",
    loinc: ("8310-5", "Body temperature"),
    snomed: ("386725007", "Body temperature"),
    unit: ("Cel", "degrees Celsius"),
};

/// The blood pressure panel; systolic is its component.
pub const BLOOD_PRESSURE: VitalCode = VitalCode {
    profile: "UKCore-Observation-VitalSigns",
    loinc: ("85354-9", "Blood pressure panel with all children optional"),
    snomed: ("75367002", "Blood pressure"),
    unit: ("mm[Hg]", "millimetre of mercury"),
};

pub const DIASTOLIC: VitalCode = VitalCode {
    profile: "UKCore-Observation-VitalSigns",
    loinc: ("8462-4", "Diastolic blood pressure"),
    snomed: ("271650006", "Diastolic blood pressure"),
    unit: ("mm[Hg]", "millimetre of mercury"),
};

pub const SYSTOLIC: VitalCode = VitalCode {
    profile: "UKCore-Observation-VitalSigns",
    loinc: ("8480-6", "Systolic blood pressure"),
    snomed: ("271649006", "Systolic blood pressure"),
    unit: ("mm[Hg]", "millimetre of mercury"),
};

pub const ACVPU: (&str, &str) = (
    "1104441000000107",
    "ACVPU (Alert Confusion Voice Pain Unresponsive) scale score",
);
pub const ACVPU_ALERT: (&str, &str) = ("248234008", "Mentally alert");
pub const ACVPU_CONFUSION: (&str, &str) = ("130987000", "Acute confusion");
pub const ACVPU_VOICE: (&str, &str) = ("300202002", "Responds to voice");
pub const ACVPU_PAIN: (&str, &str) = ("450847001", "Responds to pain");
pub const ACVPU_UNRESPONSIVE: (&str, &str) = ("422768004", "Unresponsive");

pub const ROOM_AIR: (&str, &str) = ("722742002", "Breathing room air");
pub const ON_OXYGEN: (&str, &str) = ("371825009", "Patient on oxygen");

pub const NEWS2_TOTAL: (&str, &str) = (
    "1104051000000101",
    "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score",
);
pub const SCORE_UNIT: (&str, &str) = ("{ScoreOf}", "ScoreOf");

pub const SUB_RESPIRATION: (&str, &str) = (
    "1104301000000104",
    "Royal College of Physicians NEWS2 (National Early Warning Score 2) - respiration rate score",
);
pub const SUB_SPO2_SCALE_1: (&str, &str) = (
    "1104311000000102",
    "Royal College of Physicians NEWS2 (National Early Warning Score 2) - oxygen saturation scale 1 score",
);
pub const SUB_SPO2_SCALE_2: (&str, &str) = (
    "1104321000000108",
    "Royal College of Physicians NEWS2 (National Early Warning Score 2) - oxygen saturation scale 2 score",
);
pub const SUB_AIR_OR_OXYGEN: (&str, &str) = (
    "1104331000000105",
    "Royal College of Physicians NEWS2 (National Early Warning Score 2) - air or oxygen score",
);
pub const SUB_SYSTOLIC: (&str, &str) = (
    "1104341000000101",
    "Royal College of Physicians NEWS2 (National Early Warning Score 2) - systolic blood pressure score",
);
pub const SUB_PULSE: (&str, &str) = (
    "1104351000000103",
    "Royal College of Physicians NEWS2 (National Early Warning Score 2) - pulse score",
);
pub const SUB_CONSCIOUSNESS: (&str, &str) = (
    "1104361000000100",
    "Royal College of Physicians NEWS2 (National Early Warning Score 2) - consciousness score",
);
pub const SUB_TEMPERATURE: (&str, &str) = (
    "1104371000000107",
    "Royal College of Physicians NEWS2 (National Early Warning Score 2) - temperature score",
);

/// Observations recorded beside NEWS2 (issue 15). UK Core has no profile for these beyond
/// UKCore-Observation, so each carries the LOINC code a receiving system looks for:
/// - diastolic pressure: the blood pressure panel's component (CLINICAL.md, above);
/// - oxygen flow: the InspiredOxygen observation's value in `L/min`, as UK Core's own example
///   `UKCore-Observation-OxygenTherapy-Example` carries it (NHSDigital/FHIR-R4-UKCORE-STAGING-MAIN,
///   `examples/UKCore-Observation-OxygenTherapy-Example.xml`); the device as the observation's
///   `method` text (UK Core has no value set for delivery devices);
/// - GCS: the total with the three responses as components, as in the FHIR R4 example
///   `Observation/glasgow`;
/// - the rest by their LOINC codes, with UCUM units.
pub const ADDITIONAL_PROFILE: &str = "UKCore-Observation";
/// A point-of-care meter reading, as crews and midwives take it.
pub const BLOOD_GLUCOSE: (&str, &str) = (
    "14743-9",
    "Glucose [Moles/volume] in Capillary blood by Glucometer",
);
pub const MMOL_PER_L: (&str, &str) = ("mmol/L", "millimole per liter");
pub const PAIN_SCORE: (&str, &str) = (
    "72514-3",
    "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
);
pub const GCS_TOTAL: (&str, &str) = ("9269-2", "Glasgow coma score total");
pub const GCS_EYE: (&str, &str) = ("9267-6", "Glasgow coma score eye opening");
pub const GCS_VERBAL: (&str, &str) = ("9270-0", "Glasgow coma score verbal");
pub const GCS_MOTOR: (&str, &str) = ("9268-4", "Glasgow coma score motor");
pub const SCORE: (&str, &str) = ("{score}", "score");
pub const FETAL_HEART_RATE: (&str, &str) = ("55283-6", "Fetal Heart rate");
pub const PER_MINUTE: (&str, &str) = ("/min", "beats per minute");
pub const URINE_PROTEIN: (&str, &str) = ("20454-5", "Protein [Presence] in Urine by Test strip");
pub const LITRES_PER_MINUTE: (&str, &str) = ("L/min", "liter per minute");
