//! Headers as the providers write them (shapes from their delivered mail;
//! addresses, keys and IPs replaced).

use super::*;

const GMAIL: &str = "mx.google.com;\r\n       dkim=pass header.i=@example.com header.s=20230601 header.b=AbCdEf12;\r\n       spf=pass (google.com: domain of alice@example.com designates 209.85.220.41 as permitted sender) smtp.mailfrom=alice@example.com;\r\n       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com";

const GMAIL_FAIL: &str = "mx.google.com;\r\n       spf=fail (google.com: domain of bob@circle.test does not designate 203.0.113.9 as permitted sender) smtp.mailfrom=bob@circle.test;\r\n       dmarc=fail (p=REJECT sp=REJECT dis=REJECT) header.from=circle.test";

const OFFICE365: &str = "spf=pass (sender IP is 40.107.1.2)\r\n smtp.mailfrom=contoso.com; dkim=pass (signature was verified)\r\n header.d=contoso.com;dmarc=pass action=none header.from=contoso.com;compauth=pass\r\n reason=100";

const FASTMAIL: &str = "mx6.messagingengine.com;\r\n    dkim=pass (2048-bit rsa key sha256) header.d=example.org header.i=@example.org header.b=\"abc=def\" header.a=rsa-sha256 header.s=fm1 x-bits=2048;\r\n    dmarc=pass policy.published-domain-policy=none policy.applied-disposition=none (p=none,d=none,d.eval=none) policy.policy-from=p header.from=example.org;\r\n    iprev=pass smtp.remote-ip=192.0.2.7 (mail.example.org);\r\n    spf=pass smtp.mailfrom=bob@example.org smtp.helo=mail.example.org";

const YAHOO_JP: &str = "mta523.mail.kks.yahoo.co.jp  from=example.jp; domainkeys=neutral (no sig);\r\n from=example.jp; dkim=fail (bad sig) header.i=@example.jp; spf=fail smtp.mailfrom=example.jp";

const RSPAMD: &str = "mail.circle.test;\r\n\tdkim=pass header.d=evil.test header.s=dkim header.b=abcdef;\r\n\tdmarc=fail reason=\"SPF not aligned (relaxed), DKIM not aligned (relaxed)\" header.from=circle.test (policy=reject);\r\n\tspf=fail (mail.circle.test: domain of forger@evil.test does not designate 198.51.100.4 as permitted sender) smtp.mailfrom=forger@evil.test";

const OPENDMARC: &str = "mail.example.net; dmarc=pass (p=none dis=none) header.from=example.net";

fn dmarc(r: &AuthResults) -> &MethodResult {
    r.results.iter().find(|m| m.method == "dmarc").unwrap()
}

#[test]
fn gmail_three_results_with_comments_and_folding() {
    let r = parse(GMAIL).unwrap();
    assert_eq!(r.authserv_id, "mx.google.com");
    let methods: Vec<_> = r
        .results
        .iter()
        .map(|m| (m.method.as_str(), m.result.as_str()))
        .collect();
    assert_eq!(
        methods,
        [("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]
    );
    assert_eq!(
        r.results[1].prop("smtp.mailfrom"),
        Some("alice@example.com")
    );
    assert_eq!(dmarc(&r).prop("header.from"), Some("example.com"));
    assert_eq!(sender_auth(&r, "example.com"), SenderAuth::Authenticated);
    let fail = parse(GMAIL_FAIL).unwrap();
    assert_eq!(
        sender_auth(&fail, "circle.test"),
        SenderAuth::Failed("DMARC failed for circle.test".into())
    );
}

#[test]
fn office365_has_no_authserv_id() {
    let r = parse(OFFICE365).unwrap();
    assert_eq!(r.authserv_id, "");
    assert_eq!(r.results.len(), 4);
    assert_eq!(dmarc(&r).prop("action"), Some("none"));
    assert_eq!(r.results[3].method, "compauth");
    assert_eq!(r.results[3].prop("reason"), Some("100"));
    assert_eq!(sender_auth(&r, "contoso.com"), SenderAuth::Authenticated);
    assert!(trusted([OFFICE365], OFFICE365_ID).is_some());
    assert!(trusted([OFFICE365], "mx.google.com").is_none());
    assert!(trusted([GMAIL], OFFICE365_ID).is_none());
}

#[test]
fn fastmail_quoted_values_and_per_mx_ids() {
    let r = parse(FASTMAIL).unwrap();
    assert_eq!(r.authserv_id, "mx6.messagingengine.com");
    assert_eq!(r.results[0].prop("header.b"), Some("abc=def"));
    assert_eq!(r.results.len(), 4);
    assert_eq!(dmarc(&r).prop("header.from"), Some("example.org"));
    assert!(trusted([FASTMAIL], "messagingengine.com").is_some());
    assert!(
        trusted([FASTMAIL], "engine.com").is_none(),
        "suffix only at a dot"
    );
    assert_eq!(sender_auth(&r, "example.org"), SenderAuth::Authenticated);
}

#[test]
fn yahoo_japan_without_dmarc_fails_when_spf_and_dkim_fail() {
    let r = parse(YAHOO_JP).unwrap();
    assert_eq!(r.authserv_id, "mta523.mail.kks.yahoo.co.jp");
    assert_eq!(
        sender_auth(&r, "example.jp"),
        SenderAuth::Failed("SPF and DKIM failed for example.jp".into())
    );
    // Only one of the two failing, with nothing else said: unknown.
    let one = parse("mta.mail.kks.yahoo.co.jp; spf=fail smtp.mailfrom=example.jp").unwrap();
    assert_eq!(sender_auth(&one, "example.jp"), SenderAuth::Unknown);
}

#[test]
fn rspamd_dmarc_fail_with_quoted_reason_containing_parentheses() {
    let r = parse(RSPAMD).unwrap();
    assert_eq!(dmarc(&r).result, "fail");
    assert_eq!(
        dmarc(&r).prop("reason"),
        Some("SPF not aligned (relaxed), DKIM not aligned (relaxed)")
    );
    // A DKIM pass for another domain does not vouch for the From domain.
    assert!(matches!(
        sender_auth(&r, "circle.test"),
        SenderAuth::Failed(_)
    ));
    let o = parse(OPENDMARC).unwrap();
    assert_eq!(sender_auth(&o, "example.net"), SenderAuth::Authenticated);
    assert_eq!(sender_auth(&o, "other.example"), SenderAuth::Unknown);
}

#[test]
fn only_the_topmost_trusted_header_counts() {
    // The receiving server prepended its own; the sender forged a pass below.
    let forged = "mx.google.com; dmarc=pass header.from=circle.test";
    let r = trusted([GMAIL_FAIL, forged], "mx.google.com").unwrap();
    assert_eq!(dmarc(&r).result, "fail");
    // A header from another server is ignored, whatever it says.
    let other = "evil.test; dmarc=pass header.from=circle.test";
    let r = trusted([other, GMAIL_FAIL], "mx.google.com").unwrap();
    assert_eq!(dmarc(&r).result, "fail");
    assert!(trusted([other], "mx.google.com").is_none());
    assert!(trusted([GMAIL], "").is_none(), "no trusted id: off");
    assert!(trusted([GMAIL], "MX.Google.COM").is_some());
}

#[test]
fn odd_headers_do_not_panic() {
    for v in [
        "",
        ";",
        "id; none",
        "id;;=;",
        "(((",
        "a; dmarc",
        "a; =fail",
        "x; dkim=\"unterminated",
    ] {
        let _ = parse(v).map(|r| sender_auth(&r, "example.com"));
    }
    let none = parse("mail.example.net; none").unwrap();
    assert!(none.results.is_empty());
    let versioned = parse("mail.example.net 1; dmarc=fail header.from=example.net").unwrap();
    assert_eq!(versioned.authserv_id, "mail.example.net");
    assert_eq!(versioned.results.len(), 1);
}
