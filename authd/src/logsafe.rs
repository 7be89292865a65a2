//! Peer-supplied strings in log lines: the EAP identity, the RADIUS
//! User-Name, certificate names, anything a station or a NAS chose.
//!
//! A text log is one event per line, read by people on terminals and by
//! parsers. A User-Name `"bob\n2026-01-01T00:00:00Z INFO Access-Accept"`
//! written as is forges a second line; `"\x1b[2J"` clears the operator's
//! screen. [`escaped`] wraps such a value so that its `Display` has no
//! control character at all (CR, LF, ESC, NUL, DEL, the C1 controls, the
//! Unicode line and paragraph separators, bidirectional overrides), shows
//! invalid UTF-8 as `\xNN`, and stops after [`MAX_LOGGED`] input bytes. The
//! JSON encoder escapes by itself, but the cap matters there too: a peer
//! must not make one log line arbitrarily long.
//!
//! Backslashes are kept as they are, so `CORP\alice` reads as sent.
//!
//! Database URLs go through [`redact_database_url`] before they reach a
//! message, a log line or a `Debug` string.

use std::fmt::{self, Write};

/// Input bytes shown before the value is cut.
pub const MAX_LOGGED: usize = 256;

/// A peer-supplied value, escaped when displayed (see the module).
#[derive(Clone, Copy)]
pub struct Escaped<'a> {
    bytes: &'a [u8],
    max: usize,
}

/// Wraps `value` (a `str`, bytes, a `String`) for a log line.
pub fn escaped<T: AsRef<[u8]> + ?Sized>(value: &T) -> Escaped<'_> {
    Escaped {
        bytes: value.as_ref(),
        max: MAX_LOGGED,
    }
}

/// The escaped text of `value`, for a field of a `tracing` event: recorded
/// as a string, it is quoted in text logs and a plain string in JSON ones.
pub fn escape<T: AsRef<[u8]> + ?Sized>(value: &T) -> String {
    escaped(value).to_string()
}

impl<'a> Escaped<'a> {
    /// Shows at most `max` input bytes (for longer texts such as a reject
    /// reason that quotes a name).
    pub fn max(self, max: usize) -> Escaped<'a> {
        Escaped { max, ..self }
    }
}

/// Characters that change how a line reads rather than what it says.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{200e}' | '\u{200f}' | '\u{061c}' // direction marks
            | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' // bidi embeddings, isolates
            | '\u{feff}' // zero-width no-break space (BOM)
        )
}

fn write_char(f: &mut fmt::Formatter<'_>, c: char) -> fmt::Result {
    match c {
        '\n' => f.write_str("\\n"),
        '\r' => f.write_str("\\r"),
        '\t' => f.write_str("\\t"),
        c if (c as u32) < 0x80 && needs_escape(c) => write!(f, "\\x{:02x}", c as u32),
        c if needs_escape(c) => write!(f, "\\u{{{:x}}}", c as u32),
        c => f.write_char(c),
    }
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = 0;
        for chunk in self.bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                if shown + c.len_utf8() > self.max {
                    return cut(f, self.bytes.len() - shown);
                }
                shown += c.len_utf8();
                write_char(f, c)?;
            }
            for b in chunk.invalid() {
                if shown + 1 > self.max {
                    return cut(f, self.bytes.len() - shown);
                }
                shown += 1;
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

fn cut(f: &mut fmt::Formatter<'_>, left: usize) -> fmt::Result {
    write!(f, "...[{left} more bytes]")
}

/// Quoted, for `?` fields.
impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Query parameters sqlx's PostgreSQL driver reads from a URL (the store
/// refuses any other, see `store::unknown_postgres_parameter`).
pub const POSTGRES_PARAMETERS: &[&str] = &[
    "application_name",
    "dbname",
    "host",
    "hostaddr",
    "options",
    "password",
    "port",
    "ssl-ca",
    "ssl-cert",
    "ssl-key",
    "ssl-mode",
    "ssl-root-cert",
    "sslcert",
    "sslkey",
    "sslmode",
    "sslrootcert",
    "statement-cache-capacity",
    "user",
];

/// Query parameters of SQLite URLs besides those PostgreSQL shares.
const SQLITE_PARAMETERS: &[&str] = &["cache", "immutable", "mode", "vfs"];

/// Settings with a timeout that both drivers accept in key/value form.
const OTHER_PARAMETERS: &[&str] = &["connect_timeout"];

/// Whether the value of parameter `key` is shown: what the drivers read,
/// less the password. Any other value, a password or a misspelling of one,
/// is hidden.
fn shown_parameter(key: &str) -> bool {
    key != "password"
        && (POSTGRES_PARAMETERS.contains(&key)
            || SQLITE_PARAMETERS.contains(&key)
            || OTHER_PARAMETERS.contains(&key))
}

const HIDDEN: &str = "***";

/// `url` fit for a message, a log line or a `Debug` string, in every form
/// the store accepts or may be given by mistake:
///
/// - `postgres://user:PASSWORD@host/db` (and `postgresql://`): the password
///   of the user info is replaced by `***`;
/// - `postgres://host/db?password=PASSWORD`: the value of every query
///   parameter but those in a short list of known harmless ones is
///   replaced, so a misspelt `pasword=` is hidden too;
/// - `host=h user=u password=PASSWORD` (libpq key/value): the same rule;
/// - a URL that does not parse the way the driver would read it (an
///   unencoded `/`, `?` or `#` in the password makes one) shows only its
///   scheme, since where its password ends cannot be told;
/// - `sqlite://PATH` holds no secret and stays as it is (its query too,
///   under the same rule).
pub fn redact_database_url(url: &str) -> String {
    let Some((scheme, rest)) = split_scheme(url) else {
        return if url.contains('=') {
            redact_key_values(url)
        } else if url.contains('@') {
            "<hidden>".to_owned()
        } else {
            url.to_owned()
        };
    };
    let (body, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let query = query
        .map(|q| format!("?{}", redact_query(q)))
        .unwrap_or_default();
    if scheme.eq_ignore_ascii_case("sqlite") {
        return format!("{scheme}:{body}{query}");
    }
    let Some(hier) = rest.strip_prefix("//") else {
        // `scheme:path`: no user info; a '@' means something is misplaced.
        return if rest.contains(['@', '#']) {
            format!("{scheme}:<hidden>")
        } else {
            format!("{scheme}:{body}{query}")
        };
    };
    // As the `url` crate reads it: the authority ends at the first '/',
    // '?' or '#'; its user info ends at the last '@' in it.
    let authority_end = hier.find(['/', '?', '#']).unwrap_or(hier.len());
    let (authority, after) = hier.split_at(authority_end);
    let path = after.split('?').next().unwrap_or_default();
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    // A '@' past the authority: perhaps the end of a password with an
    // unencoded '/' or '?' (the digits before it read as a port).
    if after.contains(['@', '#']) || !port_is_numeric(hostport) {
        return format!("{scheme}://<hidden>");
    }
    let userinfo = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((user, _password)) => format!("{user}:{HIDDEN}@"),
            None => format!("{u}@"),
        },
        None => String::new(),
    };
    format!("{scheme}://{userinfo}{hostport}{path}{query}")
}

/// `scheme` and what follows its ':', if `url` starts with a URL scheme
/// (RFC 3986 section 3.1).
fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then_some((scheme, rest))
}

/// `host`, `host:5432`, `[::1]`, `[::1]:5432`, `` (a socket by `?host=`).
fn port_is_numeric(hostport: &str) -> bool {
    let port = match hostport.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((_, "")) => return true,
            Some((_, tail)) => match tail.strip_prefix(':') {
                Some(port) => port,
                None => return false,
            },
            None => return false,
        },
        None => match hostport.split_once(':') {
            Some((_, port)) => port,
            None => return true,
        },
    };
    port.bytes().all(|b| b.is_ascii_digit())
}

fn shown(key: &str) -> bool {
    shown_parameter(key)
}

/// `a=1&password=x&b` -> `a=1&password=***&***` (unknown keys hidden too:
/// a bare word may be the tail of a password).
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if !shown(k) => format!("{k}={HIDDEN}"),
            Some(_) => pair.to_owned(),
            None if pair.is_empty() || shown(pair) => pair.to_owned(),
            None => HIDDEN.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// libpq key/value settings: `host=db password='a b\' c' dbname=x`.
fn redact_key_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        out.push_str(&rest[..rest.len() - trimmed.len()]);
        rest = trimmed;
        if rest.is_empty() {
            return out;
        }
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        let after_key = rest[key_end..].trim_start();
        let Some(value_and_rest) = after_key.strip_prefix('=') else {
            // A bare word: not a setting libpq knows; it may be a secret.
            out.push_str(if shown(key) { key } else { HIDDEN });
            rest = &rest[key_end..];
            continue;
        };
        let value_and_rest = value_and_rest.trim_start();
        let value_len = if let Some(quoted) = value_and_rest.strip_prefix('\'') {
            let mut escaped = false;
            match quoted.char_indices().find(|&(_, c)| {
                let end = c == '\'' && !escaped;
                escaped = c == '\\' && !escaped;
                end
            }) {
                Some((i, _)) => i + 2,
                // Unterminated: the rest is the value.
                None => value_and_rest.len(),
            }
        } else {
            value_and_rest
                .find(char::is_whitespace)
                .unwrap_or(value_and_rest.len())
        };
        let (value, tail) = value_and_rest.split_at(value_len);
        out.push_str(key);
        out.push('=');
        out.push_str(if shown(key) { value } else { HIDDEN });
        rest = tail;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(v: &[u8]) -> String {
        escaped(v).to_string()
    }

    #[test]
    fn ordinary_names_pass_unchanged() {
        for name in [
            "alice",
            "alice@example.org",
            "Bob Smith",
            "CORP\\alice",
            "host/laptop-7.corp.example",
            "Zoë Łukasiewicz",
            "用户",
            "",
        ] {
            assert_eq!(escaped(name).to_string(), name);
        }
        assert_eq!(format!("{:?}", escaped("alice")), "\"alice\"");
    }

    #[test]
    fn newlines_cannot_forge_a_line() {
        let forged = "bob\n2026-01-01T00:00:00Z  INFO authd: Access-Accept user=admin";
        let out = escaped(forged).to_string();
        assert!(!out.contains('\n'), "{out}");
        assert_eq!(
            out,
            "bob\\n2026-01-01T00:00:00Z  INFO authd: Access-Accept user=admin"
        );
        assert_eq!(show(b"a\r\nb\tc"), "a\\r\\nb\\tc");
    }

    #[test]
    fn terminal_escapes_and_nul_are_shown_not_sent() {
        let out = show(b"\x1b[31mred\x1b[0m\0\x7f");
        assert!(!out.contains('\x1b') && !out.contains('\0') && !out.contains('\x7f'));
        assert_eq!(out, "\\x1b[31mred\\x1b[0m\\x00\\x7f");
        // C1 CSI, the line separator, a right-to-left override.
        assert_eq!(
            escaped("a\u{9b}2Jb\u{2028}c\u{202e}d").to_string(),
            "a\\u{9b}2Jb\\u{2028}c\\u{202e}d"
        );
    }

    #[test]
    fn invalid_utf8_is_shown_as_hex() {
        assert_eq!(show(b"ok\xff\xfe!"), "ok\\xff\\xfe!");
        // A truncated multi-byte sequence, then valid text.
        assert_eq!(show(b"\xc3x"), "\\xc3x");
        // Positive control: the complete sequence is a character.
        assert_eq!(show(b"\xc3\xa9x"), "éx");
    }

    #[test]
    fn length_is_capped() {
        let long = "a".repeat(10_000);
        let out = escaped(&long).to_string();
        assert!(out.starts_with(&"a".repeat(MAX_LOGGED)));
        assert!(out.ends_with(&format!("...[{} more bytes]", 10_000 - MAX_LOGGED)));
        assert!(out.len() < MAX_LOGGED + 32, "{}", out.len());
        // Never splits a character: 3 bytes of "éé" fit 1 character.
        assert_eq!(escaped("éé").max(3).to_string(), "é...[2 more bytes]");
        // Positive control: at the cap exactly, nothing is cut.
        let exact = "b".repeat(MAX_LOGGED);
        assert_eq!(escaped(&exact).to_string(), exact);
    }

    #[test]
    fn json_log_lines_are_capped_too() {
        let long = format!("{}\n", "x".repeat(1000));
        let json = serde_json::to_string(&escaped(&long).to_string()).unwrap();
        assert!(json.len() < MAX_LOGGED + 40, "{json}");
        assert!(!json.contains('\n'));
    }
    #[test]
    fn database_url_without_secret_is_unchanged() {
        for url in [
            "sqlite:///var/lib/authd/authd.db",
            "sqlite://authd-data/authd.db?mode=rwc",
            "sqlite:authd.db",
            "sqlite://dir/a@b.db",
            "postgres://db.example/authd",
            "postgres://authd@db.example:5432/authd?sslmode=require&application_name=authd",
            "postgresql://[::1]:5432/authd",
            "postgres:///authd?host=/run/postgresql",
            "host=db.example port=5432 dbname=authd user=authd sslmode=require",
            "/var/lib/authd/authd.db",
        ] {
            assert_eq!(redact_database_url(url), url);
        }
    }

    #[test]
    fn database_url_user_info_password_is_hidden() {
        for (url, shown) in [
            (
                "postgres://authd:s3cret@db.example:5432/authd?sslmode=require",
                "postgres://authd:***@db.example:5432/authd?sslmode=require",
            ),
            (
                "postgresql://authd:s3cret@db/authd",
                "postgresql://authd:***@db/authd",
            ),
            (
                "PostgreSQL://authd:s3cret@[::1]/authd",
                "PostgreSQL://authd:***@[::1]/authd",
            ),
            ("postgres://:s3cret@db", "postgres://:***@db"),
            // The `url` crate takes the last '@' of the authority.
            (
                "postgres://user@corp:s3cret@db/authd",
                "postgres://user@corp:***@db/authd",
            ),
            ("mysql://u:s3cret@h/db", "mysql://u:***@h/db"),
        ] {
            assert_eq!(redact_database_url(url), shown);
        }
    }

    #[test]
    fn database_url_query_password_is_hidden() {
        for (url, shown) in [
            (
                "postgres://db/authd?password=s3cret",
                "postgres://db/authd?password=***",
            ),
            (
                "postgres://db/authd?sslmode=require&password=s3cret&user=authd",
                "postgres://db/authd?sslmode=require&password=***&user=authd",
            ),
            (
                "postgresql:///authd?host=/run/pg&password=s3cret",
                "postgresql:///authd?host=/run/pg&password=***",
            ),
            ("postgres:?password=s3cret", "postgres:?password=***"),
            // Misspelt or percent-encoded keys are hidden too.
            ("postgres://db?pasword=s3cret", "postgres://db?pasword=***"),
            (
                "postgres://db?pass%77ord=s3cret",
                "postgres://db?pass%77ord=***",
            ),
        ] {
            assert_eq!(redact_database_url(url), shown);
        }
    }

    #[test]
    fn database_url_that_does_not_parse_is_hidden() {
        // Unencoded '/', '?', '#' in a password: where it ends is unclear.
        for url in [
            "postgres://authd:s3/cret@db/authd",
            "postgres://authd:s3?cret@db/authd",
            "postgres://authd:s3#cret@db/authd",
            "postgres:authd:s3cret@db",
        ] {
            let shown = redact_database_url(url);
            assert!(
                !shown.contains("s3") && !shown.contains("cret"),
                "{url} -> {shown}"
            );
            assert!(shown.starts_with("postgres:"), "{shown}");
        }
        assert_eq!(redact_database_url("authd:s3cret@db"), "authd:<hidden>");
        assert_eq!(
            redact_database_url("postgres://u:123?s3cret@db"),
            "postgres://<hidden>"
        );
        assert_eq!(redact_database_url("u@db"), "<hidden>");
    }

    #[test]
    fn database_key_value_password_is_hidden() {
        for (text, shown) in [
            (
                "host=db user=authd password=s3cret dbname=authd",
                "host=db user=authd password=*** dbname=authd",
            ),
            (
                "host=db password = 's3 \\' cret' dbname=authd",
                "host=db password=*** dbname=authd",
            ),
            ("password='s3cret", "password=***"),
            ("host=db sslpassword=s3cret", "host=db sslpassword=***"),
            ("host=db s3cret", "host=db ***"),
        ] {
            assert_eq!(redact_database_url(text), shown);
        }
    }
}
