//! Per-parameter scores, transcribed from the RCP NEWS2 chart (2017), Chart 1.
//!
//! Each function takes a value at the chart's precision (whole numbers; temperature in tenths of a
//! degree) and returns 0–3. The band edges are written as the chart prints them so that a reviewer
//! can hold this file against the chart line by line.

use crate::vitals::{Acvpu, Spo2Scale};

pub fn respiration_rate(per_minute: u16) -> u8 {
    match per_minute {
        0..=8 => 3,
        9..=11 => 1,
        12..=20 => 0,
        21..=24 => 2,
        _ => 3, // ≥25
    }
}

/// SpO2 Scale 1 (target 94–98%). Oxygen is scored separately, by [`air_or_oxygen`].
pub fn spo2_scale_1(percent: u8) -> u8 {
    match percent {
        0..=91 => 3,
        92..=93 => 2,
        94..=95 => 1,
        _ => 0, // ≥96
    }
}

/// SpO2 Scale 2 (target 88–92%, hypercapnic respiratory failure). Values of 93% and above score
/// only when the patient is on oxygen; on air they score 0. Returns `None` when the value is 93% or
/// more and whether the patient is on oxygen is unknown, since the score then cannot be known.
pub fn spo2_scale_2(percent: u8, on_oxygen: Option<bool>) -> Option<u8> {
    match (percent, on_oxygen) {
        (0..=83, _) => Some(3),
        (84..=85, _) => Some(2),
        (86..=87, _) => Some(1),
        (88..=92, _) => Some(0),
        (_, None) => None,
        (_, Some(false)) => Some(0), // ≥93 on air
        (93..=94, Some(true)) => Some(1),
        (95..=96, Some(true)) => Some(2),
        (_, Some(true)) => Some(3), // ≥97 on oxygen
    }
}

pub fn spo2(percent: u8, scale: Spo2Scale, on_oxygen: Option<bool>) -> Option<u8> {
    match scale {
        Spo2Scale::Scale1 => Some(spo2_scale_1(percent)),
        Spo2Scale::Scale2 => spo2_scale_2(percent, on_oxygen),
    }
}

pub fn air_or_oxygen(on_oxygen: bool) -> u8 {
    if on_oxygen { 2 } else { 0 }
}

pub fn systolic_bp(mm_hg: u16) -> u8 {
    match mm_hg {
        0..=90 => 3,
        91..=100 => 2,
        101..=110 => 1,
        111..=219 => 0,
        _ => 3, // ≥220
    }
}

pub fn pulse(per_minute: u16) -> u8 {
    match per_minute {
        0..=40 => 3,
        41..=50 => 1,
        51..=90 => 0,
        91..=110 => 1,
        111..=130 => 2,
        _ => 3, // ≥131
    }
}

pub fn consciousness(level: Acvpu) -> u8 {
    match level {
        Acvpu::Alert => 0,
        Acvpu::NewConfusion | Acvpu::Voice | Acvpu::Pain | Acvpu::Unresponsive => 3,
    }
}

/// Temperature in tenths of a degree Celsius (36.1 °C is 361).
pub fn temperature(tenths_celsius: i32) -> u8 {
    match tenths_celsius {
        i32::MIN..=350 => 3, // ≤35.0
        351..=360 => 1,
        361..=380 => 0,
        381..=390 => 1,
        _ => 2, // ≥39.1
    }
}
