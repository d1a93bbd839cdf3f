//! The NHS number: ten digits, the last a modulus-11 check digit.
//!
//! Parsing accepts the forms people type (`943 476 5919`, `943-476-5919`, `9434765919`) and rejects
//! anything that fails the checksum or the range check, so a mistyped digit never silently selects
//! another patient.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A checked NHS number.
///
/// Holding one proves the number passed the modulus-11 check and the range check. Displays grouped
/// 3-3-4 (`943 476 5919`), the form clinicians read aloud; [`NhsNumber::as_digits`] gives the
/// ten-digit form that FHIR identifiers use.
///
/// `Debug` deliberately prints no digits: an NHS number identifies a patient and must not reach
/// logs or panic messages through a stray `{:?}`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NhsNumber(u64);

/// Why a string is not an NHS number. Carries no digits of the input, so it is safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NhsNumberError {
    #[error("an NHS number has 10 digits; this has {0}. Check the number and enter all ten digits")]
    WrongLength(usize),
    #[error("an NHS number contains only digits, spaces and hyphens. Remove any other characters")]
    InvalidCharacter,
    #[error(
        "this NHS number fails its check digit, so a digit is wrong. Check it against the source"
    )]
    CheckDigitMismatch,
    #[error(
        "this number can never be issued as an NHS number (its check digit would be 10). Check it against the source"
    )]
    NeverIssued,
    #[error(
        "this number passes the checksum but is outside the range of issued NHS numbers. Check it against the source"
    )]
    OutOfRange,
}

/// Weights applied to digits one to nine (NHS Data Dictionary, "NHS number").
const CHECK_WEIGHTS: [u64; 9] = [10, 9, 8, 7, 6, 5, 4, 3, 2];

/// The lowest number any UK scheme issues: Scotland's CHI numbers begin with a day-month date of
/// birth, so `010 100 0000` is the floor. `0000000000` passes the checksum and must be refused.
const LOWEST_VALID: u64 = 101_000_000; // 010 100 0000

/// The range `999 000 0000`–`999 999 9999` is never issued to a person; it is reserved for tests,
/// and every synthetic patient Doorstep makes lives there.
const TEST_RANGE: std::ops::RangeInclusive<u64> = 9_990_000_000..=9_999_999_999;

/// The check digit for the first nine digits, or `None` when no valid number starts with them
/// (the remainder gives 10).
pub fn check_digit(first_nine: [u8; 9]) -> Option<u8> {
    let sum: u64 = first_nine
        .iter()
        .zip(CHECK_WEIGHTS)
        .map(|(&digit, weight)| u64::from(digit) * weight)
        .sum();
    match 11 - (sum % 11) {
        11 => Some(0),
        10 => None,
        // The remainder is 1..=9 here, which fits a u8.
        r => u8::try_from(r).ok(),
    }
}

impl NhsNumber {
    /// Parses the forms people type: ten digits, optionally grouped with spaces or hyphens.
    pub fn parse(input: &str) -> Result<Self, NhsNumberError> {
        let mut digits = [0u8; 10];
        let mut count = 0usize;
        for c in input.trim().chars() {
            match c {
                ' ' | '-' => {}
                '0'..='9' => {
                    if count < digits.len() {
                        // `c` is an ASCII digit, so the subtraction cannot underflow.
                        digits[count] = c as u8 - b'0';
                    }
                    count += 1;
                }
                _ => return Err(NhsNumberError::InvalidCharacter),
            }
        }
        if count != digits.len() {
            return Err(NhsNumberError::WrongLength(count));
        }
        let mut first_nine = [0u8; 9];
        first_nine.copy_from_slice(&digits[..9]);
        match check_digit(first_nine) {
            None => return Err(NhsNumberError::NeverIssued),
            Some(expected) if expected != digits[9] => {
                return Err(NhsNumberError::CheckDigitMismatch);
            }
            Some(_) => {}
        }
        let value = digits
            .iter()
            .fold(0u64, |acc, &digit| acc * 10 + u64::from(digit));
        if value < LOWEST_VALID {
            return Err(NhsNumberError::OutOfRange);
        }
        Ok(Self(value))
    }

    /// Builds the test-range number `999` followed by `serial` (six digits) and its check digit,
    /// or `None` when that prefix has no valid check digit. Used by synthetic fixtures.
    pub fn test_number(serial: u32) -> Option<Self> {
        if serial > 999_999 {
            return None;
        }
        let prefix = 999_000_000 + u64::from(serial);
        let mut first_nine = [0u8; 9];
        let mut rest = prefix;
        for slot in first_nine.iter_mut().rev() {
            // `rest % 10` is a single decimal digit.
            *slot = (rest % 10) as u8;
            rest /= 10;
        }
        check_digit(first_nine).map(|check| Self(prefix * 10 + u64::from(check)))
    }

    /// True for numbers in the never-issued test range `999 000 0000`–`999 999 9999`.
    pub fn is_test_range(&self) -> bool {
        TEST_RANGE.contains(&self.0)
    }

    /// The ten digits without separators, as FHIR identifiers carry them.
    pub fn as_digits(&self) -> String {
        format!("{:010}", self.0)
    }
}

impl fmt::Display for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.as_digits();
        write!(f, "{} {} {}", &digits[..3], &digits[3..6], &digits[6..])
    }
}

impl fmt::Debug for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NhsNumber(<redacted>)")
    }
}

impl FromStr for NhsNumber {
    type Err = NhsNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for NhsNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_digits())
    }
}

impl<'de> Deserialize<'de> for NhsNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_from_the_clinical_reference() {
        let cases: &[(&str, Result<&str, NhsNumberError>)] = &[
            ("943 476 5919", Ok("943 476 5919")),
            ("9434765919", Ok("943 476 5919")),
            ("943-476-5919", Ok("943 476 5919")),
            (" 943 476-5919 ", Ok("943 476 5919")),
            ("999 100 0100", Ok("999 100 0100")),
            ("999 123 4560", Err(NhsNumberError::NeverIssued)),
            ("943 476 5918", Err(NhsNumberError::CheckDigitMismatch)),
            ("0000000000", Err(NhsNumberError::OutOfRange)),
            ("000 000 0000", Err(NhsNumberError::OutOfRange)),
            ("943476591", Err(NhsNumberError::WrongLength(9))),
            ("94347659190", Err(NhsNumberError::WrongLength(11))),
            ("", Err(NhsNumberError::WrongLength(0))),
            ("943 476 591O", Err(NhsNumberError::InvalidCharacter)),
            ("943.476.5919", Err(NhsNumberError::InvalidCharacter)),
        ];
        for (input, expected) in cases {
            let got = NhsNumber::parse(input).map(|n| n.to_string());
            let expected = expected.map(str::to_owned);
            assert_eq!(got, expected, "input {input:?}");
        }
    }

    #[test]
    fn test_range_is_recognised() {
        assert!(NhsNumber::parse("999 100 0100").unwrap().is_test_range());
        assert!(!NhsNumber::parse("943 476 5919").unwrap().is_test_range());
    }

    #[test]
    fn debug_never_prints_the_digits() {
        let number = NhsNumber::parse("9434765919").unwrap();
        let debug = format!("{number:?}");
        assert!(!debug.contains("943"), "{debug}");
    }

    #[test]
    fn errors_never_echo_the_input() {
        for input in ["943 476 5918", "999 123 4560", "94347659", "94x"] {
            let message = NhsNumber::parse(input).unwrap_err().to_string();
            assert!(!message.contains("943"), "{message}");
            assert!(!message.contains("999"), "{message}");
        }
    }

    #[test]
    fn test_numbers_are_valid_and_in_the_test_range() {
        let mut made = 0;
        for serial in 0..2_000 {
            if let Some(number) = NhsNumber::test_number(serial) {
                let reparsed = NhsNumber::parse(&number.as_digits()).unwrap();
                assert_eq!(reparsed, number);
                assert!(number.is_test_range());
                made += 1;
            }
        }
        // Roughly one prefix in eleven has no check digit.
        assert!(made > 1_700, "{made}");
        assert!(NhsNumber::test_number(1_000_000).is_none());
    }

    #[test]
    fn serde_round_trips_as_ten_digits() {
        let number = NhsNumber::parse("943 476 5919").unwrap();
        let json = serde_json::to_string(&number).unwrap();
        assert_eq!(json, "\"9434765919\"");
        let back: NhsNumber = serde_json::from_str(&json).unwrap();
        assert_eq!(back, number);
        assert!(serde_json::from_str::<NhsNumber>("\"9434765918\"").is_err());
    }
}
