//! `Authentication-Results` (RFC 8601): what the receiving server found out
//! about the sender, read only from the server the admin trusts.
//!
//! Anyone can write an `Authentication-Results` header into a message, so
//! only the topmost header with the trusted authserv-id counts (the one the
//! receiving server prepended; a forged one sits lower down). Pure logic.

/// One `method=result` of a header, with its properties (`header.from=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// Lowercased: `dmarc`, `spf`, `dkim`, `arc`, `iprev`, `compauth`…
    pub method: String,
    /// Lowercased: `pass`, `fail`, `softfail`, `none`, `temperror`…
    pub result: String,
    /// `ptype.property` (lowercased) and value, in order.
    pub props: Vec<(String, String)>,
}

impl MethodResult {
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    /// Lowercased; empty when the header has none (Exchange Online writes
    /// `Authentication-Results: spf=pass …` with no authserv-id).
    pub authserv_id: String,
    pub results: Vec<MethodResult>,
}

/// The authserv-id to write in `trusted_authserv_id` for Exchange Online,
/// whose header carries no id of its own.
pub const OFFICE365_ID: &str = "office365";

/// What the trusted server's results say about the From domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderAuth {
    /// DMARC passed, or SPF or DKIM passed for the domain.
    Authenticated,
    /// The From domain is not the sender's: the reason, for admins.
    Failed(String),
    /// No trusted header, or nothing said about this domain.
    Unknown,
}

/// Parses one header value (unfolded or not); `None` when it is not one.
pub fn parse(value: &str) -> Option<AuthResults> {
    let text = strip_comments(&value.replace(['\r', '\n', '\t'], " "));
    let mut segments = split_outside_quotes(&text, ';').into_iter();
    let first = segments.next()?;
    let first = first.trim();
    let mut results = Vec::new();
    let authserv_id = if first.split_whitespace().next()?.contains('=') {
        // No authserv-id (Exchange Online): the first segment is a result.
        results.extend(parse_result(first));
        String::new()
    } else {
        first.split_whitespace().next()?.to_ascii_lowercase()
    };
    results.extend(segments.filter_map(|s| parse_result(&s)));
    Some(AuthResults {
        authserv_id,
        results,
    })
}

/// The topmost header (first in `values`, in message order) written by the
/// trusted server: lower ones with the same id may be forged and are ignored.
pub fn trusted<'a>(
    values: impl IntoIterator<Item = &'a str>,
    trusted_id: &str,
) -> Option<AuthResults> {
    let trusted_id = trusted_id.trim().to_ascii_lowercase();
    if trusted_id.is_empty() {
        return None;
    }
    values
        .into_iter()
        .filter_map(parse)
        .find(|r| id_matches(&r.authserv_id, &trusted_id))
}

/// `mx.google.com` matches itself; `messagingengine.com` also matches
/// `mx6.messagingengine.com` (Fastmail names each MX); the Office 365
/// placeholder matches the id-less header.
fn id_matches(id: &str, trusted: &str) -> bool {
    if trusted == OFFICE365_ID {
        return id.is_empty();
    }
    !id.is_empty()
        && (id == trusted
            || id
                .strip_suffix(trusted)
                .is_some_and(|head| head.ends_with('.')))
}

/// The verdict on `from_domain`: DMARC first; without a DMARC result for it,
/// failing when SPF and DKIM both fail (or are absent) and at least one failed.
pub fn sender_auth(results: &AuthResults, from_domain: &str) -> SenderAuth {
    let domain = from_domain.trim().to_ascii_lowercase();
    let dmarc = results.results.iter().find(|r| {
        r.method == "dmarc"
            && r.prop("header.from")
                .is_none_or(|d| d.eq_ignore_ascii_case(&domain))
    });
    if let Some(d) = dmarc {
        return match d.result.as_str() {
            "pass" => SenderAuth::Authenticated,
            "fail" => SenderAuth::Failed(format!("DMARC failed for {domain}")),
            _ => aligned_verdict(results, &domain),
        };
    }
    aligned_verdict(results, &domain)
}

/// SPF (by `smtp.mailfrom`) and DKIM (by `header.d` or `header.i`) results
/// for the From domain or a subdomain of it (relaxed alignment).
fn aligned_verdict(results: &AuthResults, domain: &str) -> SenderAuth {
    let aligned: Vec<&MethodResult> = results
        .results
        .iter()
        .filter(|r| {
            let d = match r.method.as_str() {
                "spf" => r.prop("smtp.mailfrom"),
                "dkim" => r.prop("header.d").or_else(|| r.prop("header.i")),
                _ => None,
            };
            d.is_some_and(|d| aligned(d, domain))
        })
        .collect();
    if aligned.iter().any(|r| r.result == "pass") {
        return SenderAuth::Authenticated;
    }
    let failed = |m: &str| {
        aligned
            .iter()
            .any(|r| r.method == m && matches!(r.result.as_str(), "fail" | "softfail"))
    };
    if failed("spf") && failed("dkim") {
        SenderAuth::Failed(format!("SPF and DKIM failed for {domain}"))
    } else {
        SenderAuth::Unknown
    }
}

/// `alice@sub.example.com`, `@example.com` or `sub.example.com` against `example.com`.
fn aligned(value: &str, domain: &str) -> bool {
    let d = value
        .rsplit('@')
        .next()
        .unwrap_or(value)
        .to_ascii_lowercase();
    d == domain
        || d.strip_suffix(domain)
            .is_some_and(|head| head.ends_with('.'))
}

/// `method[/version]=result [reason=…] [ptype.prop=value …]`.
fn parse_result(segment: &str) -> Option<MethodResult> {
    let mut pairs = pairs(segment).into_iter();
    let (method, result) = pairs.next()?;
    let method = method.split('/').next()?.trim().to_ascii_lowercase();
    if method.is_empty() || method == "none" {
        return None;
    }
    Some(MethodResult {
        method,
        result: result.to_ascii_lowercase(),
        props: pairs.map(|(k, v)| (k.to_ascii_lowercase(), v)).collect(),
    })
}

/// `key=value` pairs of a segment; spaces around `=` allowed, values may be quoted.
fn pairs(segment: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = segment.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        if key.is_empty() && chars.peek().is_none() {
            return out;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next_if_eq(&'=').is_none() {
            if key.is_empty() {
                chars.next();
            }
            continue; // a bare word (a version number): not a pair
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let value = if chars.next_if_eq(&'"').is_some() {
            quoted(&mut chars)
        } else {
            std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())).collect()
        };
        out.push((key, value));
    }
}

fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut v = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => v.extend(chars.next()),
            '"' => break,
            c => v.push(c),
        }
    }
    v
}

/// Removes `(comments)`, nested ones too, outside quoted strings.
fn strip_comments(text: &str) -> String {
    let (mut out, mut depth, mut in_quotes, mut escaped) = (String::new(), 0u32, false, false);
    for c in text.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' if in_quotes || depth > 0 => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                in_quotes = !in_quotes;
                out.push(c);
            }
            '(' if !in_quotes => depth += 1,
            ')' if !in_quotes && depth > 0 => {
                depth -= 1;
                out.push(' ');
            }
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn split_outside_quotes(text: &str, sep: char) -> Vec<String> {
    let (mut parts, mut cur, mut in_quotes) = (Vec::new(), String::new(), false);
    for c in text.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                cur.push(c);
            }
            c if c == sep && !in_quotes => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

#[cfg(test)]
#[path = "auth_results_tests.rs"]
mod tests;
