//! Checks on values before they reach the database, so errors name the
//! problem instead of a constraint.

use super::StoreError;

/// Longest name: a User-Name attribute holds at most 253 octets
/// (RFC 2865 section 5.1).
const MAX_NAME: usize = 253;

fn name(what: &'static str, s: &str) -> Result<(), StoreError> {
    if s.is_empty() {
        return Err(StoreError::invalid(what, "must not be empty"));
    }
    if s.len() > MAX_NAME {
        return Err(StoreError::invalid(
            what,
            format!("longer than {MAX_NAME} bytes"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(StoreError::invalid(what, "contains control characters"));
    }
    if s.trim() != s {
        return Err(StoreError::invalid(what, "starts or ends with white space"));
    }
    Ok(())
}

/// A user name as certificates carry it (subject CN or a SAN).
pub(super) fn user_name(s: &str) -> Result<(), StoreError> {
    name("user name", s)
}

pub(super) fn group_name(s: &str) -> Result<(), StoreError> {
    name("group name", s)
}

pub(super) fn client_name(s: &str) -> Result<(), StoreError> {
    name("client name", s)
}

/// A Tunnel-Private-Group-Id: a VLAN number (1..=4094, IEEE 802.1Q) or a
/// VLAN name; RFC 3580 section 3.31 allows either. Names are limited to
/// 1..=32 characters of `A-Z a-z 0-9 . _ -`, which every switch accepts.
pub(super) fn vlan(s: &str) -> Result<(), StoreError> {
    if s.is_empty() || s.len() > 32 {
        return Err(StoreError::invalid(
            "VLAN",
            format!("`{s}`: 1 to 32 characters"),
        ));
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return match s.parse::<u16>() {
            Ok(1..=4094) => Ok(()),
            _ => Err(StoreError::invalid(
                "VLAN",
                format!("`{s}`: a VLAN number is 1..=4094"),
            )),
        };
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(StoreError::invalid(
            "VLAN",
            format!("`{s}`: a VLAN name uses A-Z a-z 0-9 . _ -"),
        ));
    }
    Ok(())
}

/// Session-Timeout (RFC 2865 section 5.27): seconds, at least 1.
pub(super) fn session_timeout(t: u32) -> Result<(), StoreError> {
    if t == 0 {
        return Err(StoreError::invalid(
            "Session-Timeout",
            "must be at least 1 second",
        ));
    }
    Ok(())
}

pub(super) fn attributes(vlan_: Option<&str>, timeout: Option<u32>) -> Result<(), StoreError> {
    if let Some(v) = vlan_ {
        vlan(v)?;
    }
    if let Some(t) = timeout {
        session_timeout(t)?;
    }
    Ok(())
}

pub(super) fn password(p: &str) -> Result<(), StoreError> {
    if p.is_empty() {
        return Err(StoreError::invalid("password", "must not be empty"));
    }
    if p.len() > 1024 {
        return Err(StoreError::invalid("password", "longer than 1024 bytes"));
    }
    Ok(())
}

/// The canonical text of a serial number: lowercase hex of its value's
/// octets without leading zero octets (the DER INTEGER of a positive
/// serial may carry one, RFC 5280 section 4.1.2.2).
pub(super) fn serial_hex(der_value: &[u8]) -> String {
    let first = der_value
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(der_value.len().saturating_sub(1));
    hex::encode(der_value.get(first..).unwrap_or(&[]))
}

/// Parses a serial number written as hex (any case, optional `0x`, colons
/// or spaces between octets) and returns its canonical text.
pub fn normalize_serial(s: &str) -> Result<String, StoreError> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let digits: String = t.chars().filter(|c| *c != ':' && *c != ' ').collect();
    if digits.is_empty() || digits.len() > 42 {
        return Err(StoreError::invalid(
            "serial number",
            format!("`{s}`: 1 to 21 octets of hex"),
        ));
    }
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits
    };
    let bytes = hex::decode(&padded)
        .map_err(|_| StoreError::invalid("serial number", format!("`{s}`: not hex")))?;
    Ok(serial_hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlans() {
        for ok in ["1", "10", "4094", "guests", "lab-2.b_c"] {
            vlan(ok).unwrap();
        }
        for bad in ["", "0", "4095", "99999", "a b", "v\u{e9}", &"x".repeat(33)] {
            assert!(vlan(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        user_name("alice@example.org").unwrap();
        user_name("Bob Smith").unwrap();
        for bad in ["", " alice", "alice\n", "a\u{0}b", &"x".repeat(254)] {
            assert!(user_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serials() {
        assert_eq!(serial_hex(&[0x00, 0x80, 0x01]), "8001");
        assert_eq!(serial_hex(&[0x7f]), "7f");
        assert_eq!(serial_hex(&[0]), "00");
        assert_eq!(serial_hex(&[]), "");
        assert_eq!(normalize_serial("3A:4B:0c").unwrap(), "3a4b0c");
        assert_eq!(normalize_serial("0x00ff").unwrap(), "ff");
        assert_eq!(normalize_serial("abc").unwrap(), "0abc");
        assert_eq!(normalize_serial(" 01 02 ").unwrap(), "0102");
        for bad in ["", "xyz", "0x", &"ab".repeat(22)] {
            assert!(normalize_serial(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timeouts_and_passwords() {
        assert!(session_timeout(0).is_err());
        session_timeout(1).unwrap();
        assert!(password("").is_err());
        password("x").unwrap();
    }
}
