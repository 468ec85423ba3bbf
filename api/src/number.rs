//! JSON integers as JSON Schema defines them: `308`, `308.0` and `3.08e2` are the same integer
//! (OpenAPI 3.1 uses JSON Schema, whose `integer` is any number with a zero fraction, and
//! generated clients may spell one as a float). The text is read exactly, so a spelling too
//! long for a double still names the integer it writes.

use serde::{Deserialize, Deserializer, de::Error};
use serde_json::value::RawValue;

/// Deserializes a u64 from any JSON spelling of a whole number in range.
pub(crate) fn u64_exact<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let raw = Box::<RawValue>::deserialize(deserializer)?;
    parse(raw.get()).ok_or_else(|| {
        D::Error::custom(format!(
            "expected an unsigned 64-bit integer, got {}",
            shorten(raw.get())
        ))
    })
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The integer a JSON number text writes, if it is whole, not negative and at most u64::MAX.
fn parse(text: &str) -> Option<u64> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i64>().ok()?),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let valid = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !valid(whole)
        || !valid(fraction)
        || (mantissa.contains('.') && fraction.is_empty())
    {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    // The value is digits × 10^shift.
    let shift = exponent.checked_sub(i64::try_from(fraction.len()).ok()?)?;
    let digits = digits.trim_start_matches('0');
    let value = if digits.is_empty() {
        0
    } else if shift < 0 {
        let cut = usize::try_from(shift.unsigned_abs()).ok()?;
        if cut > digits.len() {
            return None;
        }
        let (kept, dropped) = digits.split_at(digits.len() - cut);
        if dropped.bytes().any(|b| b != b'0') {
            return None;
        }
        if kept.is_empty() {
            0
        } else {
            kept.parse::<u64>().ok()?
        }
    } else {
        let zeros = usize::try_from(shift).ok()?;
        if digits.len() + zeros > 20 {
            return None;
        }
        format!("{digits}{}", "0".repeat(zeros))
            .parse::<u64>()
            .ok()?
    };
    (!negative || value == 0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn whole_numbers_in_every_spelling() {
        for (text, value) in [
            ("0", Some(0)),
            ("-0", Some(0)),
            ("-0.0", Some(0)),
            ("308", Some(308)),
            ("308.0", Some(308)),
            ("308.000", Some(308)),
            ("3.08e2", Some(308)),
            ("3080E-1", Some(308)),
            ("1e19", Some(10_000_000_000_000_000_000)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551614.0", Some(u64::MAX - 1)),
            ("1844674407370955161.5e1", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("1e20", None),
            ("308.5", None),
            ("3.085e2", None),
            ("-1", None),
            ("1e-1", None),
            ("0e-99999", Some(0)),
            ("1.", None),
            (".5", None),
            ("\"308\"", None),
            ("null", None),
            ("1e999999999999999999999", None),
        ] {
            assert_eq!(parse(text), value, "{text}");
        }
    }
}
