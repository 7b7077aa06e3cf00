//! A strict reader of the Prometheus text exposition format (version 0.0.4), so a metrics page
//! is checked line by line instead of split at its last space.
//!
//! Every line is one of: `# HELP name text` (text escapes `\\` and `\n` only), `# TYPE name
//! kind` (counter, gauge, histogram, summary, untyped), another `#` comment, or a sample
//! `name{label="value",…} value [timestamp]`. Checked: the name grammar `[a-zA-Z_:][a-zA-Z0-9_:]*`,
//! label names `[a-zA-Z_][a-zA-Z0-9_]*` (none starting `__`, none twice in a sample), label
//! values quoted with the escapes `\\`, `\"` and `\n` only, a float value (`+Inf`, `-Inf`, `NaN`
//! or a decimal number), an integer timestamp; one HELP and one TYPE per metric, both before its
//! first sample; the samples of a metric on consecutive lines, each series once; a histogram's
//! `_bucket` series with `le` ascending to `+Inf` and never decreasing, its `_count` equal to the
//! `+Inf` bucket, and a `_sum`; counters never negative; the page ending in a newline.

use std::collections::HashSet;

/// One sample line, the label values unescaped.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    /// `name{a="x",b="y"}` (labels in page order, values escaped again), or `name`.
    pub fn series(&self) -> String {
        if self.labels.is_empty() {
            return self.name.clone();
        }
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(n, v)| {
                let v = v
                    .replace('\\', r"\\")
                    .replace('"', "\\\"")
                    .replace('\n', r"\n");
                format!("{n}=\"{v}\"")
            })
            .collect();
        format!("{}{{{}}}", self.name, labels.join(","))
    }
}

/// A metric: its HELP text (unescaped), TYPE and samples in page order.
#[derive(Debug, Clone)]
pub struct Family {
    pub name: String,
    pub help: Option<String>,
    pub kind: Option<String>,
    pub samples: Vec<Sample>,
}

/// Reads a whole page; an error names the first line that breaks the format.
pub fn parse(page: &str) -> Result<Vec<Family>, String> {
    if !page.ends_with('\n') {
        return Err("the page does not end with a newline".into());
    }
    let mut families: Vec<Family> = Vec::new();
    let mut series = HashSet::new();
    for (i, line) in page.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", i + 1);
        if line.contains('\r') {
            return Err(at("a carriage return".into()));
        }
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            check_name(name).map_err(at)?;
            let help = unescape(text, false).map_err(at)?;
            let f = open_family(&mut families, name).map_err(at)?;
            if f.help.replace(help).is_some() {
                return Err(at("a second HELP".into()));
            }
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| at("TYPE without a kind".into()))?;
            check_name(name).map_err(at)?;
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(at(format!("unknown kind {kind:?}")));
            }
            let f = open_family(&mut families, name).map_err(at)?;
            if f.kind.replace(kind.to_owned()).is_some() {
                return Err(at("a second TYPE".into()));
            }
        } else if line.starts_with('#') {
            continue;
        } else {
            let sample = sample(line).map_err(at)?;
            let f = families
                .last_mut()
                .filter(|f| belongs(&sample.name, f))
                .ok_or_else(|| at("a sample not under its own HELP and TYPE".into()))?;
            if f.help.is_none() || f.kind.is_none() {
                return Err(at("a sample before its metric's HELP and TYPE".into()));
            }
            if f.kind.as_deref() == Some("counter") && (sample.value.is_nan() || sample.value < 0.0)
            {
                return Err(at("a counter below zero".into()));
            }
            if !series.insert(sample.series()) {
                return Err(at("the same series twice".into()));
            }
            f.samples.push(sample);
        }
    }
    for f in &families {
        if f.kind.as_deref() == Some("histogram") {
            check_histogram(f)?;
        }
    }
    Ok(families)
}

/// The family named `name`: the last one if it is that one and has no sample yet, else a new
/// one (an error if a family of that name came before).
fn open_family<'a>(families: &'a mut Vec<Family>, name: &str) -> Result<&'a mut Family, String> {
    let continues = families
        .last()
        .is_some_and(|f| f.name == name && f.samples.is_empty());
    if !continues {
        if families.iter().any(|f| f.name == name) {
            return Err(format!("{name} appears in two places"));
        }
        families.push(Family {
            name: name.to_owned(),
            help: None,
            kind: None,
            samples: Vec::new(),
        });
    }
    Ok(families.last_mut().expect("a family"))
}

/// Whether a sample called `name` belongs to `f` (a histogram's or summary's own suffixes).
fn belongs(name: &str, f: &Family) -> bool {
    let suffixes: &[&str] = match f.kind.as_deref().unwrap_or("") {
        "histogram" => &["_bucket", "_sum", "_count"],
        "summary" => &["", "_sum", "_count"],
        _ => &[""],
    };
    suffixes
        .iter()
        .any(|s| name.strip_suffix(s) == Some(f.name.as_str()))
}

fn check_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':');
    if first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') {
        Ok(())
    } else {
        Err(format!("bad metric name {name:?}"))
    }
}

fn check_label_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') && !name.starts_with("__")
    {
        Ok(())
    } else {
        Err(format!("bad label name {name:?}"))
    }
}

/// Undoes the escapes of a HELP text (`\\`, `\n`) or, with `quotes`, a label value (also `\"`).
fn unescape(text: &str, quotes: bool) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, quotes) {
            ('\\', _) => match chars.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('"') if quotes => out.push('"'),
                other => return Err(format!("bad escape \\{other:?}")),
            },
            ('"', true) => return Err("an unescaped quote".into()),
            (c, _) => out.push(c),
        }
    }
    Ok(out)
}

/// A float as the format writes it: `+Inf`, `-Inf`, `NaN`, or `[+-]` digits with an optional
/// fraction and exponent (`1`, `0.25`, `.5`, `1e-3`).
fn value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => return Ok(f64::INFINITY),
        "-Inf" => return Ok(f64::NEG_INFINITY),
        "NaN" => return Ok(f64::NAN),
        _ => {}
    }
    let bad = || format!("bad value {text:?}");
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty());
    let exponent_ok = exponent.map_or(true, |e| !e.is_empty() && digits(e));
    if !(mantissa_ok && exponent_ok) {
        return Err(bad());
    }
    text.parse::<f64>().map_err(|_| bad())
}

/// One sample line.
fn sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    check_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels: Vec<(String, String)> = Vec::new();
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            if let Some(after) = inner.strip_prefix('}') {
                rest = after;
                break;
            }
            let (label, after) = inner.split_once("=\"").ok_or("a label without =\"")?;
            check_label_name(label)?;
            // The value ends at the first quote not escaped.
            let mut end = None;
            let mut escaped = false;
            for (i, b) in after.bytes().enumerate() {
                match (b, escaped) {
                    (b'\\', false) => escaped = true,
                    (b'"', false) => {
                        end = Some(i);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            let end = end.ok_or("an unterminated label value")?;
            let text = unescape(&after[..end], true)?;
            if labels.iter().any(|(n, _)| n == label) {
                return Err(format!("label {label} twice"));
            }
            labels.push((label.to_owned(), text));
            inner = &after[end + 1..];
            if let Some(next) = inner.strip_prefix(',') {
                inner = next;
            } else if !inner.starts_with('}') {
                return Err("labels not separated by a comma".into());
            }
        }
    }
    let mut fields = rest
        .strip_prefix(' ')
        .ok_or("no blank before the value")?
        .split(' ');
    let v = value(fields.next().unwrap_or(""))?;
    if let Some(ts) = fields.next() {
        ts.parse::<i64>()
            .map_err(|_| format!("bad timestamp {ts:?}"))?;
    }
    if fields.next().is_some() {
        return Err("more after the timestamp".into());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value: v,
    })
}

/// A histogram's buckets per label set: `le` ascending to `+Inf`, counts never decreasing,
/// `_count` equal to the `+Inf` bucket, a `_sum`.
fn check_histogram(f: &Family) -> Result<(), String> {
    let others = |s: &Sample| -> Vec<(String, String)> {
        s.labels
            .iter()
            .filter(|(n, _)| n != "le")
            .cloned()
            .collect()
    };
    let mut groups: Vec<Vec<(String, String)>> = Vec::new();
    for s in &f.samples {
        if !groups.contains(&others(s)) {
            groups.push(others(s));
        }
    }
    for group in groups {
        let of = |suffix: &str| -> Vec<&Sample> {
            f.samples
                .iter()
                .filter(|s| s.name == format!("{}{suffix}", f.name) && others(s) == group)
                .collect()
        };
        let buckets = of("_bucket");
        let mut last = (f64::NEG_INFINITY, 0.0);
        for b in &buckets {
            let le = b
                .labels
                .iter()
                .find(|(n, _)| n == "le")
                .ok_or_else(|| format!("{} bucket without le", f.name))?;
            let le = value(&le.1)?;
            if le <= last.0 || b.value < last.1 {
                return Err(format!("{}{group:?}: buckets out of order", f.name));
            }
            last = (le, b.value);
        }
        if last.0 != f64::INFINITY {
            return Err(format!("{}{group:?}: no +Inf bucket", f.name));
        }
        match (of("_count").as_slice(), of("_sum").len()) {
            ([count], 1) if count.value == last.1 => {}
            _ => {
                return Err(format!(
                    "{}{group:?}: _count is not the +Inf bucket, or _sum is missing",
                    f.name
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"# HELP a_total A \\ help\n.
# TYPE a_total counter
a_total{x="q\"\\\n",y=""} 1.5e3
# HELP h H.
# TYPE h histogram
h_bucket{le="0.5"} 1
h_bucket{le="+Inf"} 2
h_sum 0.7
h_count 2
"#;

    #[test]
    fn reads_a_good_page_and_refuses_each_fault() {
        let families = parse(GOOD).unwrap();
        assert_eq!(families.len(), 2);
        assert_eq!(families[0].help.as_deref(), Some("A \\ help\n."));
        assert_eq!(families[0].samples[0].labels[0].1, "q\"\\\n");
        assert_eq!(
            families[0].samples[0].series(),
            r#"a_total{x="q\"\\\n",y=""}"#
        );
        assert_eq!(families[0].samples[0].value, 1500.0);
        assert_eq!(families[1].samples.len(), 4);
        assert!(parse(GOOD.trim_end()).is_err(), "no final newline");
        for (from, to) in [
            ("1.5e3\n", "1,5\n"),                                 // not a float
            ("1.5e3\n", "0x10\n"),                                // not a float either
            ("1.5e3\n", "inf\n"),      // Rust's spelling, not the format's
            ("a_total{", "a-total{"),  // name grammar
            ("{x=", "{__x="),          // reserved label name
            ("y=\"\"", "x=\"\""),      // a label twice
            ("q\\\"", "q\""),          // an unescaped quote
            ("\\\\\\n\"", "\\t\""),    // an unknown escape
            ("help\\n", "help\\t"),    // an unknown escape in HELP
            ("\"} 1.5e3", "\"}1.5e3"), // no blank before the value
            ("1.5e3\n", "1.5e3 x\n"),  // a timestamp that is no integer
            ("# TYPE a_total counter\n", ""), // no TYPE
            ("# TYPE a_total counter", "# TYPE a_total kounter"), // no such kind
            ("h_bucket{le=\"0.5\"} 1", "h_bucket{le=\"0.5\"} 3"), // decreasing buckets
            ("h_bucket{le=\"+Inf\"} 2\n", ""), // no +Inf bucket
            ("h_count 2", "h_count 3"), // count is not the +Inf bucket
            ("h_sum 0.7\n", ""),       // no sum
            ("1.5e3\n", "-1\n"),       // a negative counter
            ("h_count 2\n", "h_count 2\na_total 1\n"), // a metric's samples split
            ("h_count 2\n", "h_count 2\nh_count 2\n"), // a series twice
            ("h_count 2\n", "h_count 2\n# TYPE h gauge\n"), // a second TYPE
            ("h_sum", "h_summ"),       // a sample of no declared metric
        ] {
            let bad = GOOD.replacen(from, to, 1);
            assert_ne!(bad, GOOD, "{from:?}");
            assert!(parse(&bad).is_err(), "accepted with {to:?}:\n{bad}");
        }
    }
}
