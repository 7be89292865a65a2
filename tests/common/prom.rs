//! A checker of the Prometheus text exposition format 0.0.4, written from
//! the format's description and independent of the server's writer: every
//! line is a `# HELP`, a `# TYPE`, another comment, or a sample; names and
//! label names match their grammar; label values use only the three
//! escapes; values parse as floats; a family is TYPEd once, before its
//! samples; counters end in `_total`; a histogram's buckets are
//! cumulative and its `+Inf` bucket equals its count.

use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

fn is_name(s: &str, colon: bool) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || (colon && f == ':'))
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || (colon && x == ':'))
}

fn parse_value(v: &str) -> Result<f64, String> {
    match v {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => v.parse::<f64>().map_err(|e| format!("value {v:?}: {e}")),
    }
}

/// `{a="b",c="d"}` at the start of `s`: the labels and the rest.
fn parse_labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = s.strip_prefix('{').ok_or("no {")?;
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !is_name(name, false) || name.starts_with("__") {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next().ok_or("unterminated label value")?;
            match c {
                '"' => break i,
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => return Err(format!("bad escape \\{other:?}")),
                },
                '\n' => return Err("raw line feed in a label value".into()),
                c => value.push(c),
            }
        };
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err("labels not separated by ,".into());
        }
    }
}

/// The family a sample belongs to, given the TYPEs seen.
fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && types.get(base).is_some_and(|t| t == "histogram")
        {
            return base;
        }
    }
    name
}

/// Checks every line of `text`; the samples, or the first fault with its
/// line number.
pub fn check(text: &str) -> Result<Vec<Sample>, String> {
    if !text.ends_with('\n') {
        return Err("does not end with a line feed".into());
    }
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helps: HashMap<String, ()> = HashMap::new();
    let mut sampled: HashMap<String, ()> = HashMap::new();
    let mut samples = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fault = |m: String| format!("line {}: {m}: {line:?}", i + 1);
        if line.is_empty() {
            return Err(fault("empty line".into()));
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or("");
            if !is_name(name, true) || helps.insert(name.into(), ()).is_some() {
                return Err(fault("bad or repeated HELP".into()));
            }
            let help = &rest[name.len()..];
            let mut it = help.chars();
            while let Some(c) = it.next() {
                if c == '\\' && !matches!(it.next(), Some('\\' | 'n')) {
                    return Err(fault("bad escape in HELP".into()));
                }
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').ok_or_else(|| fault("TYPE".into()))?;
            if !is_name(name, true)
                || !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind)
            {
                return Err(fault("bad TYPE".into()));
            }
            if sampled.contains_key(name) || types.insert(name.into(), kind.into()).is_some() {
                return Err(fault("TYPE repeated or after samples".into()));
            }
            if kind == "counter" && !name.ends_with("_total") {
                return Err(fault("counter without _total".into()));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| fault("no value".into()))?;
        let name = &line[..name_end];
        if !is_name(name, true) {
            return Err(fault("bad metric name".into()));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(fault)?
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| fault("no space before the value".into()))?;
        let mut parts = rest.split(' ');
        let value = parse_value(parts.next().unwrap_or("")).map_err(fault)?;
        if let Some(ts) = parts.next() {
            ts.parse::<i64>()
                .map_err(|_| fault("bad timestamp".into()))?;
        }
        if parts.next().is_some() {
            return Err(fault("trailing text".into()));
        }
        let family = family_of(name, &types);
        if !types.contains_key(family) {
            return Err(fault(format!("sample of {family} before its TYPE")));
        }
        sampled.insert(family.into(), ());
        samples.push(Sample {
            name: name.into(),
            labels,
            value,
        });
    }
    check_histograms(&samples, &types)?;
    Ok(samples)
}

/// (le, cumulative count) per bucket, and the `_count`.
type Series = (Vec<(f64, f64)>, Option<f64>);

fn check_histograms(samples: &[Sample], types: &HashMap<String, String>) -> Result<(), String> {
    for (family, _) in types.iter().filter(|(_, t)| *t == "histogram") {
        // Group by the labels other than `le`.
        let mut groups: BTreeMap<String, Series> = BTreeMap::new();
        for s in samples {
            let key = |s: &Sample| {
                let mut l = s.labels.clone();
                l.remove("le");
                format!("{l:?}")
            };
            if s.name == format!("{family}_bucket") {
                let le = s.labels.get("le").ok_or("bucket without le")?;
                let le = parse_value(le)?;
                groups.entry(key(s)).or_default().0.push((le, s.value));
            } else if s.name == format!("{family}_count") {
                groups.entry(key(s)).or_default().1 = Some(s.value);
            }
        }
        for (labels, (buckets, count)) in groups {
            let count = count.ok_or(format!("{family}{labels}: no _count"))?;
            let mut last = (f64::NEG_INFINITY, 0.0);
            for &(le, n) in &buckets {
                if le <= last.0 || n < last.1 {
                    return Err(format!("{family}{labels}: buckets not cumulative"));
                }
                last = (le, n);
            }
            if last.0 != f64::INFINITY || last.1 != count {
                return Err(format!("{family}{labels}: +Inf bucket is not the count"));
            }
        }
    }
    Ok(())
}

/// The value of the sample `name` with exactly `labels`; `None` if absent.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == want)
        .map(|s| s.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_text_and_refuses_faults() {
        let good = "# HELP a_total A \\\\ b\n# TYPE a_total counter\na_total{x=\"q\\\"\\n\"} 1\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n";
        let s = check(good).unwrap();
        assert_eq!(value(&s, "a_total", &[("x", "q\"\n")]), Some(1.0));
        for bad in [
            "a_total 1\n",                                              // no TYPE
            "# TYPE a counter\na 1\n",                                  // no _total
            "# TYPE a_total counter\na_total{x=\"\\t\"} 1\n",           // bad escape
            "# TYPE a_total counter\na_total{x=\"y\"} one\n",           // bad value
            "# TYPE a_total counter\na_total 1",                        // no final LF
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n", // +Inf != count
            "# TYPE g gauge\ng 1\n# TYPE g gauge\n",                    // TYPE twice
        ] {
            assert!(check(bad).is_err(), "accepted {bad:?}");
        }
    }
}
