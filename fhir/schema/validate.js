// Validates one FHIR R4 resource (JSON on stdin) against the official HL7 FHIR R4 JSON schema.
// Exit 0 when valid; otherwise prints each error and exits 1. Used by doorstep-fhir's tests.
const JSONSchemaValidator = require("@asymmetrik/fhir-json-schema-validator");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const validator = new JSONSchemaValidator();
  const errors = validator.validate(JSON.parse(input), true);
  if (errors.length > 0) {
    for (const error of errors) console.error(JSON.stringify(error));
    process.exit(1);
  }
});
