//! `authd user import FILE`: users and their passwords from a CSV file,
//! all in one transaction.
//!
//! The file (RFC 4180 CSV, UTF-8) has four columns, `name,password,group,vlan`;
//! a first line that is exactly that header is skipped, as are blank
//! lines; an empty group or VLAN means none. A field with a comma, a quote
//! or a line break is quoted, its quotes doubled (`"pa,ss""word"`). Every
//! line is checked before anything is written, and any bad line (wrong
//! number of fields, invalid name, empty password, invalid VLAN, unknown
//! group, a name twice) aborts the import with an error naming its line.
//!
//! The parser is written here rather than taken from the `csv` crate: the
//! format needs a few dozen lines, and this way every field, the passwords
//! among them, lives only in buffers sized once and wiped on drop, which
//! the crate's internal record buffers are not.
//!
//! Argon2id of hundreds of passwords takes seconds: it runs before the
//! transaction opens, on threads of the blocking pool, so the transaction
//! only writes.

#![forbid(unsafe_code)]

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

use super::{AdminError, io_err, json};
use crate::store::{Store, StoreError, UserImport};

/// The header line, and the number of fields of every line.
const HEADER: [&str; 4] = ["name", "password", "group", "vlan"];
/// Bad lines listed in one error; the rest are counted.
const MAX_LISTED: usize = 20;
/// Hashing threads at most (each Argon2id takes 19 MiB).
const MAX_THREADS: usize = 8;

/// One line of the file.
pub(super) struct Record {
    /// 1-based line where the record starts.
    pub(super) line: usize,
    pub(super) name: String,
    pub(super) password: Zeroizing<String>,
    pub(super) group: Option<String>,
    pub(super) vlan: Option<String>,
}

/// A bad line: its number and what is wrong.
type Problem = (usize, String);

/// Parses the CSV text into records, and says which lines are bad (a
/// quote that is never closed ends the parse: what follows it cannot be
/// told apart).
pub(super) fn parse(text: &str) -> (Vec<Record>, Vec<Problem>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bytes = text.as_bytes();
    let mut records = Vec::new();
    let mut problems = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let mut first = true;
    while i < bytes.len() {
        // Blank lines separate nothing: skipped.
        if bytes[i] == b'\n' {
            (i, line) = (i + 1, line + 1);
            continue;
        }
        if bytes[i..].starts_with(b"\r\n") {
            (i, line) = (i + 2, line + 1);
            continue;
        }
        let start = line;
        let mut fields: Vec<Zeroizing<String>> = Vec::with_capacity(HEADER.len());
        let mut bad: Option<String> = None;
        loop {
            let n = fields.len() + 1;
            if bytes.get(i) == Some(&b'"') {
                // Quoted: up to the quote that is not doubled.
                let begin = i + 1;
                let mut j = begin;
                let mut lines_inside = 0;
                loop {
                    match bytes.get(j) {
                        None => {
                            problems.push((start, format!("field {n}: the quote is not closed")));
                            return (records, problems);
                        }
                        Some(b'"') if bytes.get(j + 1) == Some(&b'"') => j += 2,
                        Some(b'"') => break,
                        Some(b'\n') => (j, lines_inside) = (j + 1, lines_inside + 1),
                        Some(_) => j += 1,
                    }
                }
                line += lines_inside;
                fields.push(unquote(&text[begin..j]));
                i = j + 1;
                match bytes.get(i) {
                    Some(b',') => i += 1,
                    None | Some(b'\n') => {
                        (i, line) = (i + 1, line + 1);
                        break;
                    }
                    Some(b'\r') if matches!(bytes.get(i + 1), None | Some(b'\n')) => {
                        (i, line) = (i + 2, line + 1);
                        break;
                    }
                    Some(_) => {
                        bad = Some(format!("field {n}: text after its closing quote"));
                        i = skip_line(bytes, i);
                        line += 1;
                        break;
                    }
                }
            } else {
                let begin = i;
                let end = bytes[i..]
                    .iter()
                    .position(|b| *b == b',' || *b == b'\n')
                    .map_or(bytes.len(), |k| i + k);
                let mut raw = &text[begin..end];
                if bytes.get(end) != Some(&b',') {
                    raw = raw.strip_suffix('\r').unwrap_or(raw);
                }
                if raw.contains('"') && bad.is_none() {
                    bad = Some(format!(
                        "field {n}: a quote in a field that is not quoted \
                         (quote the field and double its quotes)"
                    ));
                }
                fields.push(Zeroizing::new(raw.to_owned()));
                i = end + 1;
                // After a comma at the very end, the loop reads one more,
                // empty, field.
                if bytes.get(end) != Some(&b',') {
                    line += 1;
                    break;
                }
            }
        }
        let is_header = first
            && fields.len() == HEADER.len()
            && fields
                .iter()
                .zip(HEADER)
                .all(|(f, h)| f.trim().eq_ignore_ascii_case(h));
        first = false;
        if let Some(reason) = bad {
            problems.push((start, reason));
        } else if is_header {
            continue;
        } else if fields.len() != HEADER.len() {
            problems.push((
                start,
                format!(
                    "{} field(s), expected {} ({})",
                    fields.len(),
                    HEADER.len(),
                    HEADER.join(",")
                ),
            ));
        } else {
            let mut it = fields.into_iter();
            let mut next = || it.next().unwrap_or_default();
            let name = next().to_string();
            let password = next();
            let some = |f: Zeroizing<String>| (!f.is_empty()).then(|| f.to_string());
            let group = some(next());
            let vlan = some(next());
            records.push(Record {
                line: start,
                name,
                password,
                group,
                vlan,
            });
        }
    }
    (records, problems)
}

/// The text of a quoted field, its doubled quotes made single, in a buffer
/// sized once (no reallocation leaves a copy behind).
fn unquote(raw: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(raw.len()));
    for (k, piece) in raw.split("\"\"").enumerate() {
        if k > 0 {
            out.push('"');
        }
        out.push_str(piece);
    }
    out
}

/// The index after the end of the line at `i`.
fn skip_line(bytes: &[u8], i: usize) -> usize {
    bytes[i..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(bytes.len(), |k| i + k + 1)
}

/// The file's text (`-`: standard input), in a buffer wiped on drop.
fn read_text(path: &Path) -> Result<Zeroizing<String>, AdminError> {
    let shown = path.display().to_string();
    let mut bytes = Zeroizing::new(Vec::new());
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(io_err("reading standard input"))?;
    } else {
        let mut f = std::fs::File::open(path).map_err(io_err(shown.clone()))?;
        let len = f.metadata().map_or(0, |m| m.len());
        bytes.reserve_exact(usize::try_from(len).unwrap_or(0).saturating_add(1));
        f.read_to_end(&mut bytes).map_err(io_err(shown.clone()))?;
    }
    let raw = std::mem::take(&mut *bytes);
    match String::from_utf8(raw) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let bytes = Zeroizing::new(e.into_bytes());
            let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
            Err(AdminError::Usage(format!(
                "{shown}: line {line}: not UTF-8; nothing imported"
            )))
        }
    }
}

/// The error for bad lines: each with its number, nothing imported.
fn problems_error(file: &str, mut problems: Vec<Problem>) -> AdminError {
    problems.sort_by_key(|(line, _)| *line);
    let mut msg = format!("{file}: nothing imported:");
    for (line, reason) in problems.iter().take(MAX_LISTED) {
        let _ = write!(msg, "\n  line {line}: {reason}");
    }
    if problems.len() > MAX_LISTED {
        let _ = write!(msg, "\n  ... and {} more", problems.len() - MAX_LISTED);
    }
    AdminError::Usage(msg)
}

/// Argon2id (and the NT hash) of every record, on the blocking pool, in
/// several threads; in the records' order.
async fn prepare_all(
    store: &Store,
    records: Vec<Record>,
    mschap: bool,
) -> Result<Vec<UserImport>, Vec<Problem>> {
    let store = store.clone();
    let work = tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .clamp(1, MAX_THREADS)
            .min(records.len().max(1));
        let chunk = records.len().div_ceil(threads).max(1);
        let prepare = |r: &Record| {
            store
                .prepare_import(
                    &r.name,
                    &r.password,
                    r.group.as_deref(),
                    r.vlan.as_deref(),
                    mschap,
                )
                .map_err(|e| (r.line, e.to_string()))
        };
        std::thread::scope(|s| {
            let handles: Vec<_> = records
                .chunks(chunk)
                .map(|c| s.spawn(move || c.iter().map(prepare).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join()
                        .unwrap_or_else(|_| vec![Err((0, "password hashing failed".into()))])
                })
                .collect::<Vec<_>>()
        })
    })
    .await
    .map_err(|_| vec![(0, "password hashing failed".to_owned())])?;
    let mut prepared = Vec::with_capacity(work.len());
    let mut problems = Vec::new();
    for r in work {
        match r {
            Ok(u) => prepared.push(u),
            Err(p) => problems.push(p),
        }
    }
    if problems.is_empty() {
        Ok(prepared)
    } else {
        Err(problems)
    }
}

/// Runs `authd user import FILE`.
pub(super) async fn import(
    store: &Store,
    path: &Path,
    mschap: bool,
    json_output: bool,
    out: &mut String,
) -> Result<(), AdminError> {
    let file = path.display().to_string();
    let text = read_text(path)?;
    let (records, mut problems) = parse(&text);
    drop(text);
    if records.is_empty() && problems.is_empty() {
        return Err(AdminError::Usage(format!(
            "{file}: no users in the file (columns {})",
            HEADER.join(",")
        )));
    }
    // Every cheap check first, on every line, before any hashing.
    let groups: HashSet<String> = store
        .list_groups()
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect();
    let mut first_line: HashMap<&str, usize> = HashMap::new();
    for r in &records {
        if let Err(e) = UserImport::check(&r.name, &r.password, r.vlan.as_deref()) {
            problems.push((r.line, e.to_string()));
        }
        if let Some(g) = &r.group
            && !groups.contains(g)
        {
            problems.push((r.line, format!("group `{g}` does not exist")));
        }
        if let Some(before) = first_line.insert(&r.name, r.line) {
            problems.push((
                r.line,
                format!("user `{}` is already on line {before}", r.name),
            ));
            first_line.insert(&r.name, before);
        }
    }
    if !problems.is_empty() {
        return Err(problems_error(&file, problems));
    }
    let lines: Vec<usize> = records.iter().map(|r| r.line).collect();
    let users = prepare_all(store, records, mschap)
        .await
        .map_err(|p| problems_error(&file, p))?;
    let summary = match store.import_users(&file, &users).await {
        Ok(s) => s,
        // Checked above, but the store may have changed since (a group
        // deleted): the transaction checks again and names the record.
        Err(StoreError::InRecord { index, source }) => {
            let line = lines.get(index).copied().unwrap_or(0);
            return Err(problems_error(&file, vec![(line, source.to_string())]));
        }
        Err(e) => return Err(e.into()),
    };
    if json_output {
        return json(out, &summary);
    }
    let _ = writeln!(
        out,
        "{file}: {} user(s) created, {} updated; {}",
        summary.created,
        summary.updated,
        if summary.with_nt_hash > 0 {
            format!(
                "Argon2id and NT hash (MS-CHAPv2) stored for {}",
                summary.with_nt_hash
            )
        } else {
            "Argon2id only (PAP and TTLS-PAP)".to_owned()
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(r: &Record) -> (String, String, Option<String>, Option<String>) {
        (
            r.name.clone(),
            r.password.to_string(),
            r.group.clone(),
            r.vlan.clone(),
        )
    }

    fn ok(text: &str) -> Vec<(String, String, Option<String>, Option<String>)> {
        let (records, problems) = parse(text);
        assert!(problems.is_empty(), "{text:?}: {problems:?}");
        records.iter().map(fields).collect()
    }

    fn bad(text: &str) -> Vec<Problem> {
        let (_, problems) = parse(text);
        assert!(!problems.is_empty(), "{text:?} parsed");
        problems
    }

    fn rec(
        n: &str,
        p: &str,
        g: Option<&str>,
        v: Option<&str>,
    ) -> (String, String, Option<String>, Option<String>) {
        (n.into(), p.into(), g.map(Into::into), v.map(Into::into))
    }

    #[test]
    fn plain_quoted_and_header() {
        assert_eq!(
            ok("name,password,group,vlan\nalice,pw1,staff,10\nbob,pw2,,\n"),
            [
                rec("alice", "pw1", Some("staff"), Some("10")),
                rec("bob", "pw2", None, None)
            ]
        );
        // Quoted fields keep commas, doubled quotes, line breaks and spaces.
        assert_eq!(
            ok("\"carol\",\"a,b\"\"c\",\"\",\"\"\r\ndave,\" sp \",g,\n\"e\",\"x\ny\",g,20"),
            [
                rec("carol", "a,b\"c", None, None),
                rec("dave", " sp ", Some("g"), None),
                rec("e", "x\ny", Some("g"), Some("20")),
            ]
        );
        // A byte order mark, CRLF, blank lines, no final newline; the
        // header only counts as the first line.
        assert_eq!(
            ok("\u{feff}NAME,Password,group,VLAN\r\n\r\n\nalice,pw,,\r\nname,password,group,vlan"),
            [
                rec("alice", "pw", None, None),
                rec("name", "password", Some("group"), Some("vlan"))
            ]
        );
        assert!(ok("").is_empty());
        assert!(ok("name,password,group,vlan\n").is_empty());
    }

    #[test]
    fn line_numbers_of_bad_lines() {
        // Wrong field counts, after a quoted line break (line 2-3).
        let p = bad("alice,pw,,\nbob,\"two\nlines\",,\ncarol,pw\n\ndave,pw,,,\n");
        assert_eq!(
            p,
            [
                (
                    4,
                    "2 field(s), expected 4 (name,password,group,vlan)".into()
                ),
                (
                    6,
                    "5 field(s), expected 4 (name,password,group,vlan)".into()
                ),
            ]
        );
        let p = bad("a,b,c,d\nx,p\"w,,\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, 2);
        assert!(p[0].1.contains("field 2: a quote"), "{p:?}");
        let p = bad("a,\"pw\"x,,\nb,c,d,e\n");
        assert_eq!(p[0].0, 1);
        assert!(p[0].1.contains("after its closing quote"), "{p:?}");
        let p = bad("a,b,c,d\n\nb,\"never closed,,\nc,d,e,f\n");
        assert_eq!(p, [(3, "field 2: the quote is not closed".into())]);
        // The good lines are still parsed, for the checks after parsing.
        let (records, p) = parse("a,b,c,d\nx,y\ne,f,g,h\n");
        assert_eq!(p.len(), 1);
        let lines: Vec<_> = records.iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 3]);
        // A trailing comma is one more field.
        assert_eq!(bad("a,b,c,d,")[0].1.split(' ').next(), Some("5"));
    }

    #[test]
    fn problems_are_listed_by_line() {
        let e = problems_error("u.csv", vec![(9, "b".into()), (3, "a".into())]).to_string();
        assert_eq!(e, "u.csv: nothing imported:\n  line 3: a\n  line 9: b");
        let many = (1..=25).map(|l| (l, "x".to_owned())).collect();
        let e = problems_error("u.csv", many).to_string();
        assert!(e.ends_with("line 20: x\n  ... and 5 more"), "{e}");
    }
}
