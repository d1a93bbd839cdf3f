//! The FHIR R4 data types and resources Doorstep exchanges, written by hand: the R4 crates in the
//! registry cost gigabytes of memory and minutes per build. Only the elements Doorstep reads or
//! writes are typed; others are kept in `extra` so that nothing received is silently dropped when
//! a resource passes through.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A code from a code system (`system` + `code`), with its display text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coding {
    pub system: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Coding {
    pub fn new(system: &str, code: &str, display: &str) -> Self {
        Self {
            system: system.to_owned(),
            code: code.to_owned(),
            display: Some(display.to_owned()),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CodeableConcept {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl CodeableConcept {
    pub fn of(coding: Vec<Coding>) -> Self {
        Self { coding, text: None }
    }

    /// Whether any of its codings is `code` in `system`.
    pub fn has(&self, system: &str, code: &str) -> bool {
        self.coding
            .iter()
            .any(|coding| coding.system == system && coding.code == code)
    }
}

/// A measured amount in a UCUM unit.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantity {
    /// A FHIR decimal: its digits are its precision, so a count is written 26, not 26.0.
    pub value: serde_json::Number,
    pub unit: String,
    pub system: String,
    pub code: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<Identifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Reference {
    pub fn to(url: &str) -> Self {
        Self {
            reference: Some(url.to_owned()),
            ..Self::default()
        }
    }
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Identifier {
    pub system: String,
    pub value: String,
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HumanName {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "use")]
    pub name_use: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub given: Vec<String>,
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "use")]
    pub address_use: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
}

/// A FHIR extension with the one value type Doorstep writes (a dateTime); others are kept whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_date_time: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<String>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<HumanName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub general_practitioner: Vec<Reference>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Elements every resource Doorstep reads for import has: its id and profile, and what else it
/// carries kept whole.
macro_rules! resource {
    ($(#[$attr:meta])* $name:ident { $($(#[$field_attr:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$attr])*
        #[derive(Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub id: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub meta: Option<Meta>,
            $($(#[$field_attr])* pub $field: $ty,)*
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }
    };
}

resource!(
    /// UK Core AllergyIntolerance: the substance, how the patient reacts, and its status.
    AllergyIntolerance {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        identifier: Vec<Identifier>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        clinical_status: Option<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verification_status: Option<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<CodeableConcept>,
        patient: Reference,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recorded_date: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reaction: Vec<AllergyReaction>,
    }
);

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllergyReaction {
    #[serde(default)]
    pub manifestation: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

resource!(
    /// UK Core MedicationStatement: one medicine the patient takes, as a source asserts it.
    MedicationStatement {
        status: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        medication_codeable_concept: Option<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        medication_reference: Option<Reference>,
        subject: Reference,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        date_asserted: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        information_source: Option<Reference>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        dosage: Vec<Dosage>,
    }
);

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dosage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<Timing>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeableConcept>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

resource!(
    /// A medicine a MedicationStatement may point at instead of naming it.
    Medication {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<CodeableConcept>,
    }
);

resource!(
    /// UK Core Condition: a problem on the patient's problem list.
    Condition {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        extension: Vec<Extension>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        clinical_status: Option<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verification_status: Option<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        category: Vec<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<CodeableConcept>,
        subject: Reference,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        asserter: Option<Reference>,
    }
);

resource!(
    /// UK Core Flag: an alert a clinician must see before acting (DNACPR, safeguarding).
    Flag {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        identifier: Vec<Identifier>,
        status: String,
        code: CodeableConcept,
        subject: Reference,
    }
);

resource!(
    /// UK Core Organization: a GP practice or the source of an import.
    Organization {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        identifier: Vec<Identifier>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    }
);

resource!(
    /// UK Core Composition: a document's table of contents, first in a `document` Bundle.
    Composition {
        status: String,
        #[serde(rename = "type")]
        composition_type: CodeableConcept,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<Reference>,
        date: String,
        author: Vec<Reference>,
        title: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        section: Vec<Section>,
    }
);

/// A Composition section: its heading, its words for a reader, and the resources behind them.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Narrative>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<Reference>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Human-readable XHTML, as a FHIR narrative.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Narrative {
    pub status: String,
    pub div: String,
}

resource!(
    /// UK Core Provenance: who made a resource, when, and on whose behalf.
    Provenance {
        target: Vec<Reference>,
        recorded: String,
        agent: Vec<ProvenanceAgent>,
    }
);

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvenanceAgent {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub agent_type: Option<CodeableConcept>,
    pub who: Reference,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

resource!(
    /// UK Core Practitioner: the person completing a handover.
    Practitioner {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        name: Vec<HumanName>,
    }
);

/// One part of an observation: a panel's systolic value, a score's sub-score.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservationComponent {
    pub code: CodeableConcept,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_quantity: Option<Quantity>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<CodeableConcept>,
    pub code: CodeableConcept,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub performer: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_quantity: Option<Quantity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_codeable_concept: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derived_from: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub component: Vec<ObservationComponent>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A resource in a bundle, by its `resourceType`. Types Doorstep does not read are kept whole.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resourceType")]
pub enum Resource {
    Patient(Patient),
    Observation(Box<Observation>),
    AllergyIntolerance(Box<AllergyIntolerance>),
    MedicationStatement(Box<MedicationStatement>),
    Medication(Box<Medication>),
    Condition(Box<Condition>),
    Flag(Box<Flag>),
    Organization(Box<Organization>),
    Practitioner(Box<Practitioner>),
    Composition(Box<Composition>),
    Provenance(Box<Provenance>),
    #[serde(untagged)]
    Other(Map<String, Value>),
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    pub resource: Resource,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    #[serde(default = "bundle_resource_type")]
    pub resource_type: String,
    #[serde(rename = "type")]
    pub bundle_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<Identifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<BundleEntry>,
}

fn bundle_resource_type() -> String {
    "Bundle".to_owned()
}

impl Bundle {
    /// The observations in the bundle, in order.
    pub fn observations(&self) -> impl Iterator<Item = &Observation> {
        self.entry.iter().filter_map(|entry| match &entry.resource {
            Resource::Observation(observation) => Some(observation.as_ref()),
            _ => None,
        })
    }
}

/// Patient data stays out of logs and panics: these print what they are, not what they hold.
macro_rules! redacted_debug {
    ($($name:ident),*) => {
        $(impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        })*
    };
}

redacted_debug!(
    Quantity,
    Identifier,
    HumanName,
    Address,
    AllergyIntolerance,
    AllergyReaction,
    MedicationStatement,
    Dosage,
    Timing,
    Medication,
    Condition,
    Flag,
    Organization,
    Practitioner,
    Composition,
    Section,
    Narrative,
    Provenance,
    ProvenanceAgent,
    Patient,
    Observation,
    ObservationComponent,
    Resource,
    BundleEntry,
    Bundle
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_elements_and_resources_survive_a_round_trip() {
        let text = r#"{"resourceType": "Bundle", "type": "collection", "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Observation", "status": "final",
              "code": {"coding": [{"system": "http://loinc.org", "code": "9279-1"}]},
              "interpretation": [{"text": "high"}]}},
            {"resource": {"resourceType": "Encounter", "status": "finished"}}
        ]}"#;
        let bundle: Bundle = serde_json::from_str(text).unwrap();
        let observation = bundle.observations().next().unwrap();
        assert!(observation.code.has("http://loinc.org", "9279-1"));
        assert!(observation.extra.contains_key("interpretation"));
        assert!(matches!(bundle.entry[1].resource, Resource::Other(_)));
        let again: Bundle = serde_json::from_value(serde_json::to_value(&bundle).unwrap()).unwrap();
        assert_eq!(again, bundle);
    }
}
