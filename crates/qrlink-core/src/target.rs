//! `TargetUrl`: where a link forwards. Only `TargetUrl::parse` makes one (R-LNK-2).

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::base_url::BaseUrl;
use crate::error::Invalid;

pub const MAX_TARGET_LEN: usize = 4096;

const FIELD: &str = "target";

/// What the instance allows as a target beyond the fixed rules.
#[derive(Debug, Clone)]
pub struct TargetPolicy {
    /// The instance's own public address: targets under it would loop.
    pub base: BaseUrl,
    /// Allow `localhost`, private and other special-purpose addresses (off by default).
    pub allow_private: bool,
}

/// An absolute `http`/`https` URL, WHATWG-normalised, safe to send as a `Location` header:
/// its serialisation is printable ASCII only (hosts in punycode, the rest percent-encoded).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct TargetUrl(Box<str>);

impl TargetUrl {
    /// Validates and normalises a target. Never resolves DNS.
    pub fn parse(input: &str, policy: &TargetPolicy) -> Result<TargetUrl, Invalid> {
        let input = input.trim_matches(' ');
        if input.is_empty() {
            return Err(Invalid::new(FIELD, "required", "a target URL is required"));
        }
        if input.len() > MAX_TARGET_LEN {
            return Err(Invalid::new(
                FIELD,
                "too_long",
                format!(
                    "a target URL has at most {MAX_TARGET_LEN} bytes, this one has {}",
                    input.len()
                ),
            ));
        }
        // WHATWG parsing silently drops tabs and newlines; a target carrying them was never
        // meant as typed, so it is refused before parsing.
        if let Some(c) = input.chars().find(|c| c.is_control()) {
            return Err(Invalid::new(
                FIELD,
                "control_character",
                format!(
                    "the target contains the control character U+{:04X}; percent-encode it",
                    c as u32
                ),
            ));
        }
        let url = Url::parse(input).map_err(|e| match e {
            url::ParseError::RelativeUrlWithoutBase => Invalid::new(
                FIELD,
                "absolute",
                "the target must be an absolute URL starting with http:// or https://",
            ),
            other => Invalid::new(FIELD, "syntax", format!("not a valid URL: {other}")),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Invalid::new(
                FIELD,
                "scheme",
                format!(
                    "only http and https targets are allowed, not `{}:`",
                    url.scheme()
                ),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Invalid::new(
                FIELD,
                "userinfo",
                "the target may not contain a user name or password before `@`",
            ));
        }
        match url.host() {
            None => return Err(Invalid::new(FIELD, "host", "the target needs a host")),
            Some(Host::Domain(domain)) => check_domain(domain, policy.allow_private)?,
            Some(Host::Ipv4(ip)) => check_ipv4(ip, policy.allow_private)?,
            Some(Host::Ipv6(ip)) => check_ipv6(ip, policy.allow_private)?,
        }
        if url.port() == Some(0) {
            return Err(Invalid::new(FIELD, "port", "the target's port cannot be 0"));
        }
        if is_under_base(&url, &policy.base) {
            return Err(Invalid::new(
                FIELD,
                "loop",
                format!(
                    "the target points back at this instance ({}), which would loop",
                    policy.base
                ),
            ));
        }
        let normalised = url.as_str();
        if normalised.len() > MAX_TARGET_LEN {
            return Err(Invalid::new(
                FIELD,
                "too_long",
                format!(
                    "the encoded target URL has {} bytes, at most {MAX_TARGET_LEN} are allowed",
                    normalised.len()
                ),
            ));
        }
        Ok(TargetUrl(normalised.into()))
    }

    /// Reads a target that was validated when it was stored. The stored form is trusted because
    /// only `parse` writes it; a policy change later (say, a new base URL) does not unmake it.
    pub(crate) fn from_stored(stored: String) -> TargetUrl {
        TargetUrl(stored.into_boxed_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host, as stored (punycode, lowercase), or `""` for a stored target without one.
    pub fn host(&self) -> String {
        Url::parse(&self.0)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Whether the host is `domain` or a name below it.
    pub fn is_within(&self, domain: &str) -> bool {
        let host = self.host();
        host == domain
            || host
                .strip_suffix(domain)
                .is_some_and(|above| above.ends_with('.'))
    }

    /// The target with internationalised host names shown in Unicode, for people.
    pub fn to_unicode_display(&self) -> String {
        let Ok(url) = Url::parse(&self.0) else {
            return self.0.to_string();
        };
        match url.host() {
            Some(Host::Domain(domain))
                if domain.split('.').any(|label| label.starts_with("xn--")) =>
            {
                let (unicode, result) = idna::domain_to_unicode(domain);
                if result.is_err() {
                    return self.0.to_string();
                }
                let start = self.0.find(domain).unwrap_or(0);
                format!(
                    "{}{}{}",
                    &self.0[..start],
                    unicode,
                    &self.0[start + domain.len()..]
                )
            }
            _ => self.0.to_string(),
        }
    }

    /// The target as people should see it: both forms of an internationalised host, and a
    /// warning when the host may imitate another.
    pub fn shown(&self) -> ShownTarget {
        let unicode = self.to_unicode_display();
        ShownTarget {
            ascii: (unicode != *self.0).then(|| self.0.to_string()),
            unicode,
            warning: self.lookalike_warning(),
        }
    }

    /// A warning for people when the host may imitate another: a part of its Unicode form
    /// mixes letters of scripts that are not written together (`аpple.com`, a Cyrillic `а`
    /// among Latin letters). Japanese and Korean mixes, with or without Latin, are usual and
    /// not flagged (the "highly restrictive" profile of Unicode TS #39). A host written
    /// entirely in one foreign script that imitates Latin letters is not caught here.
    pub fn lookalike_warning(&self) -> Option<String> {
        let unicode = idna::domain_to_unicode(&self.host()).0;
        unicode.split('.').find_map(|label| {
            let scripts = label_scripts(label);
            (!usual_mix(&scripts)).then(|| {
                let names: Vec<&str> = scripts.iter().map(|script| script.full_name()).collect();
                format!(
                    "the host `{unicode}` mixes {} letters in `{label}`: it may imitate another site's name",
                    names.join(" and ")
                )
            })
        })
    }

    /// The `Location` for a request whose query is forwarded (R-FWD-8): the request's
    /// parameters come after the target's own, and the target's fragment stays at the end.
    pub fn with_forwarded_query(&self, query: &str) -> String {
        with_forwarded_query(&self.0, query)
    }
}

/// A target as pages show it (see [`TargetUrl::shown`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownTarget {
    /// With the host in Unicode.
    pub unicode: String,
    /// As stored and sent (the host in punycode), when that differs from `unicode`.
    pub ascii: Option<String>,
    /// See [`TargetUrl::lookalike_warning`].
    pub warning: Option<String>,
}

/// The scripts of a host label's letters, in order of first use, leaving out the characters
/// every script shares (digits, `-`) and combining marks.
fn label_scripts(label: &str) -> Vec<unicode_script::Script> {
    use unicode_script::{Script, UnicodeScript};
    let mut scripts = Vec::new();
    for script in label.chars().map(|c| c.script()) {
        if !matches!(script, Script::Common | Script::Inherited | Script::Unknown)
            && !scripts.contains(&script)
        {
            scripts.push(script);
        }
    }
    scripts
}

/// One script, or a mix that is written together: Latin with Han and the Japanese kana, with
/// Han and Bopomofo, or with Han and Hangul.
fn usual_mix(scripts: &[unicode_script::Script]) -> bool {
    use unicode_script::Script::{Bopomofo, Han, Hangul, Hiragana, Katakana, Latin};
    let within = |allowed: &[unicode_script::Script]| scripts.iter().all(|s| allowed.contains(s));
    scripts.len() <= 1
        || within(&[Latin, Han, Hiragana, Katakana])
        || within(&[Latin, Han, Bopomofo])
        || within(&[Latin, Han, Hangul])
}

/// `target` with the visitor's query string appended (R-FWD-3), before any fragment.
pub(crate) fn with_forwarded_query(target: &str, query: &str) -> String {
    if query.is_empty() {
        return target.to_owned();
    }
    let (before_fragment, fragment) = match target.find('#') {
        Some(i) => target.split_at(i),
        None => (target, ""),
    };
    let joiner = if before_fragment.contains('?') {
        if before_fragment.ends_with('?') || before_fragment.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else {
        "?"
    };
    format!("{before_fragment}{joiner}{query}{fragment}")
}

impl std::fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_domain(domain: &str, allow_private: bool) -> Result<(), Invalid> {
    if domain.ends_with('.') {
        return Err(Invalid::new(
            FIELD,
            "trailing_dot",
            "the target host may not end with a dot",
        ));
    }
    // Labels as DNS allows them: not empty, at most 63 bytes, no `-` at either end, letters,
    // digits, `-` (and `_`, which some real host names carry); 253 bytes in all.
    let bad_label = domain.split('.').find(|label| {
        label.is_empty()
            || label.len() > 63
            || label.starts_with('-')
            || label.ends_with('-')
            || !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if let Some(label) = bad_label {
        return Err(Invalid::new(
            FIELD,
            "host",
            format!(
                "the target host `{domain}` has an invalid part `{label}`: parts between dots are 1 to 63 letters, digits or `-`, not starting or ending with `-`"
            ),
        ));
    }
    if domain.len() > 253 {
        return Err(Invalid::new(
            FIELD,
            "host",
            "the target host is longer than 253 characters",
        ));
    }
    if !domain.contains('.') && domain != "localhost" {
        return Err(Invalid::new(
            FIELD,
            "host",
            format!(
                "the target host `{domain}` is not a full domain name (it needs at least one dot)"
            ),
        ));
    }
    if allow_private {
        return Ok(());
    }
    const PRIVATE_SUFFIXES: &[&str] =
        &["localhost", "local", "internal", "home.arpa", "localdomain"];
    for suffix in PRIVATE_SUFFIXES {
        let under = domain.len() > suffix.len()
            && domain.ends_with(suffix)
            && domain.as_bytes()[domain.len() - suffix.len() - 1] == b'.';
        if domain == *suffix || under {
            return Err(Invalid::new(
                FIELD,
                "private_address",
                format!(
                    "the target host `{domain}` is a private name (`{suffix}`); this instance does not allow private targets"
                ),
            ));
        }
    }
    Ok(())
}

fn refuse_ip(ip: impl std::fmt::Display, range: &str) -> Invalid {
    Invalid::new(
        FIELD,
        "private_address",
        format!(
            "the target address {ip} is in a special-purpose range ({range}); this instance does not allow private targets"
        ),
    )
}

fn check_ipv4(ip: Ipv4Addr, allow_private: bool) -> Result<(), Invalid> {
    match special_purpose_ipv4(ip) {
        Some(range) if !allow_private => Err(refuse_ip(ip, range)),
        _ => Ok(()),
    }
}

fn check_ipv6(ip: Ipv6Addr, allow_private: bool) -> Result<(), Invalid> {
    if allow_private {
        return Ok(());
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return match special_purpose_ipv4(v4) {
            Some(range) => Err(refuse_ip(ip, range)),
            None => Ok(()),
        };
    }
    match special_purpose_ipv6(ip) {
        Some(range) => Err(refuse_ip(ip, range)),
        None => Ok(()),
    }
}

/// The IANA IPv4 special-purpose registry, plus multicast and the reserved 240/4.
fn special_purpose_ipv4(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u8, &str)] = &[
        ([0, 0, 0, 0], 8, "this network"),
        ([10, 0, 0, 0], 8, "private-use"),
        ([100, 64, 0, 0], 10, "shared address space (CGNAT)"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([169, 254, 0, 0], 16, "link-local"),
        ([172, 16, 0, 0], 12, "private-use"),
        ([192, 0, 0, 0], 24, "IETF protocol assignments"),
        ([192, 0, 2, 0], 24, "documentation (TEST-NET-1)"),
        ([192, 31, 196, 0], 24, "AS112-v4"),
        ([192, 52, 193, 0], 24, "AMT"),
        ([192, 88, 99, 0], 24, "deprecated 6to4 relay anycast"),
        ([192, 168, 0, 0], 16, "private-use"),
        ([192, 175, 48, 0], 24, "direct delegation AS112"),
        ([198, 18, 0, 0], 15, "benchmarking"),
        ([198, 51, 100, 0], 24, "documentation (TEST-NET-2)"),
        ([203, 0, 113, 0], 24, "documentation (TEST-NET-3)"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([240, 0, 0, 0], 4, "reserved"),
    ];
    let bits = u32::from(ip);
    RANGES.iter().find_map(|(net, len, name)| {
        let mask = u32::MAX << (32 - u32::from(*len));
        (bits & mask == u32::from(Ipv4Addr::from(*net))).then_some(*name)
    })
}

/// The IANA IPv6 special-purpose registry (IPv4-mapped addresses are unmapped before this).
fn special_purpose_ipv6(ip: Ipv6Addr) -> Option<&'static str> {
    const RANGES: &[(u128, u8, &str)] = &[
        (0, 128, "unspecified"),
        (1, 128, "loopback"),
        (0, 96, "IPv4-compatible (deprecated)"),
        (
            0x0064_ff9b_0000_0000_0000_0000_0000_0000,
            96,
            "IPv4/IPv6 translation",
        ),
        (
            0x0064_ff9b_0001_0000_0000_0000_0000_0000,
            48,
            "local-use IPv4/IPv6 translation",
        ),
        (
            0x0100_0000_0000_0000_0000_0000_0000_0000,
            64,
            "discard-only",
        ),
        (
            0x2001_0000_0000_0000_0000_0000_0000_0000,
            23,
            "IETF protocol assignments (Teredo and others)",
        ),
        (
            0x2001_0db8_0000_0000_0000_0000_0000_0000,
            32,
            "documentation",
        ),
        (0x2002_0000_0000_0000_0000_0000_0000_0000, 16, "6to4"),
        (
            0x3fff_0000_0000_0000_0000_0000_0000_0000,
            20,
            "documentation",
        ),
        (
            0x5f00_0000_0000_0000_0000_0000_0000_0000,
            16,
            "segment routing (SRv6) SIDs",
        ),
        (0xfc00_0000_0000_0000_0000_0000_0000_0000, 7, "unique local"),
        (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10, "link-local"),
        (
            0xfec0_0000_0000_0000_0000_0000_0000_0000,
            10,
            "site-local (deprecated)",
        ),
        (0xff00_0000_0000_0000_0000_0000_0000_0000, 8, "multicast"),
    ];
    let bits = u128::from(ip);
    RANGES.iter().find_map(|(net, len, name)| {
        let mask = u128::MAX << (128 - u32::from(*len));
        (bits & mask == *net).then_some(*name)
    })
}

/// True when `url` would be answered by this instance: same host, and under its path prefix.
fn is_under_base(url: &Url, base: &BaseUrl) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    if !host.eq_ignore_ascii_case(base.host()) {
        return false;
    }
    let path = routed_path(url.path());
    let prefix = base.path().to_ascii_lowercase();
    path.starts_with(&prefix) || format!("{path}/") == prefix
}

/// A path as the most lenient proxy in front might route it: percent-escapes decoded, runs of
/// `/` collapsed, dot segments resolved, ASCII case folded. Comparing this form refuses
/// `/q%72/x` and `//qr/x` under a base of `/qr/`.
fn routed_path(path: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let mut collapsed = String::with_capacity(decoded.len());
    for c in decoded.chars() {
        if !(c == '/' && collapsed.ends_with('/')) {
            collapsed.push(c);
        }
    }
    let resolved = Url::parse("http://routed.invalid/")
        .and_then(|root| root.join(&collapsed))
        .map_or(collapsed.clone(), |url| url.path().to_owned());
    // Joining re-encodes what decoding revealed; decode once more for the comparison.
    percent_encoding::percent_decode_str(&resolved)
        .decode_utf8_lossy()
        .to_ascii_lowercase()
}

/// A domain as an admin writes it for the blocklist: `example.com`, `Bücher.example` (stored as
/// punycode), with at least one dot, or an IP address; no scheme, port or path.
pub fn parse_domain(input: &str) -> Result<String, Invalid> {
    const FIELD: &str = "domain";
    let input = input.trim().trim_end_matches('.').to_lowercase();
    if input.is_empty() || input.contains(['/', ':', '@', '?', '#', ' ']) && !input.starts_with('[')
    {
        return Err(Invalid::new(
            FIELD,
            "format",
            "write a domain name alone, such as example.com (no scheme, port or path)",
        ));
    }
    match Host::parse(&input) {
        Ok(Host::Domain(domain)) if domain.contains('.') => Ok(domain),
        Ok(Host::Domain(_)) => Err(Invalid::new(
            FIELD,
            "dot",
            "a domain has at least one dot (example.com)",
        )),
        Ok(host @ (Host::Ipv4(_) | Host::Ipv6(_))) => Ok(host.to_string()),
        Err(_) => Err(Invalid::new(
            FIELD,
            "format",
            format!("`{input}` is not a domain name"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> TargetPolicy {
        TargetPolicy {
            base: BaseUrl::parse("https://go.example.org").unwrap(),
            allow_private: false,
        }
    }

    fn parse(input: &str) -> Result<TargetUrl, Invalid> {
        TargetUrl::parse(input, &policy())
    }

    #[test]
    fn accepts_and_normalises() {
        assert_eq!(
            parse("https://example.org").unwrap().as_str(),
            "https://example.org/"
        );
        assert_eq!(
            parse("  HTTPS://Example.ORG/a b  ").unwrap().as_str(),
            "https://example.org/a%20b"
        );
        assert_eq!(
            parse("https://b\u{fc}cher.example/").unwrap().as_str(),
            "https://xn--bcher-kva.example/"
        );
        assert_eq!(
            parse("https://b\u{fc}cher.example/x")
                .unwrap()
                .to_unicode_display(),
            "https://b\u{fc}cher.example/x"
        );
        assert_eq!(
            parse("http://93.184.216.34/").unwrap().as_str(),
            "http://93.184.216.34/"
        );
        assert!(
            parse("https://example.org/%0d%0a").is_ok(),
            "percent-encoded controls are fine"
        );
        assert!(parse("https://example.org/qr/x").is_ok());
    }

    #[test]
    fn a_host_that_mixes_scripts_is_flagged_and_usual_mixes_are_not() {
        let warning = |url: &str| parse(url).unwrap().lookalike_warning();
        let apple = warning("https://\u{0430}pple.com/").expect("a Cyrillic а among Latin");
        assert!(
            apple.contains("Cyrillic and Latin") && apple.contains("аpple.com"),
            "{apple}"
        );
        assert!(warning("https://pаypal.example/login").is_some());
        for fine in [
            "https://example.org/",
            "https://bücher.example/",
            "https://пример.рф/",
            "https://東京タワー.jp/",
            "https://ソニーbank.jp/",
            "https://한국어.kr/",
            "https://café-123.example/",
        ] {
            assert_eq!(warning(fine), None, "{fine}");
        }
    }

    #[test]
    fn refusals_name_the_rule() {
        let long = format!("https://example.org/{}", "a".repeat(MAX_TARGET_LEN));
        let table: &[(&str, &str)] = &[
            ("", "required"),
            ("javascript:alert(1)", "scheme"),
            ("data:text/html,<script>alert(1)</script>", "scheme"),
            ("file:///etc/passwd", "scheme"),
            ("ftp://example.org/", "scheme"),
            ("/relative/path", "absolute"),
            ("//evil.example.com/", "absolute"),
            ("example.org", "absolute"),
            ("https://good.example@evil.example/", "userinfo"),
            ("https://user:pass@example.org/", "userinfo"),
            (
                "https://example.org/\r\nSet-Cookie: a=b",
                "control_character",
            ),
            ("https://example.org/\ttab", "control_character"),
            ("https://exa\nmple.org/", "control_character"),
            ("https://example.org/\0", "control_character"),
            ("https://intranet/", "host"),
            ("https://example.org./", "trailing_dot"),
            ("https://localhost/", "private_address"),
            ("https://localhost./", "trailing_dot"),
            ("https://db.localhost/", "private_address"),
            ("https://printer.local/", "private_address"),
            ("http://127.0.0.1/", "private_address"),
            ("http://2130706433/", "private_address"),
            ("http://0x7f.1/", "private_address"),
            ("http://0177.0.0.1/", "private_address"),
            ("http://10.1.2.3/", "private_address"),
            ("http://172.31.255.255/", "private_address"),
            ("http://192.168.1.1/", "private_address"),
            ("http://169.254.169.254/latest/meta-data", "private_address"),
            ("http://100.64.0.1/", "private_address"),
            ("http://0.0.0.0/", "private_address"),
            ("http://224.0.0.1/", "private_address"),
            ("http://192.0.2.1/", "private_address"),
            ("http://[::1]/", "private_address"),
            ("http://[::]/", "private_address"),
            ("http://[::ffff:127.0.0.1]/", "private_address"),
            ("http://[::ffff:a9fe:a9fe]/", "private_address"),
            ("http://[fd00::1]/", "private_address"),
            ("http://[fe80::1]/", "private_address"),
            ("http://[2001:db8::1]/", "private_address"),
            ("http://[ff02::1]/", "private_address"),
            ("https://go.example.org/other", "loop"),
            ("http://GO.EXAMPLE.ORG:8080/x", "loop"),
            ("https:///nohost", "host"),
            ("https://exa mple.org/", "syntax"),
            ("https://.example/", "host"),
            ("https://a..example/", "host"),
            ("https://-a.example/", "host"),
            ("https://a-.example/", "host"),
            (&format!("https://{}.example/", "a".repeat(64)), "host"),
            ("https://example.org:0/", "port"),
            (&long, "too_long"),
        ];
        for (input, rule) in table {
            match parse(input) {
                Ok(ok) => panic!("{input:?} was accepted as {ok}"),
                Err(err) => assert_eq!(
                    (*input, err.field, err.rule),
                    (*input, "target", *rule),
                    "{}",
                    err.message
                ),
            }
        }
    }

    #[test]
    fn allow_private_lifts_only_the_private_rule() {
        let policy = TargetPolicy {
            allow_private: true,
            ..policy()
        };
        assert!(TargetUrl::parse("http://127.0.0.1:3000/", &policy).is_ok());
        assert!(TargetUrl::parse("http://localhost:3000/", &policy).is_ok());
        assert_eq!(
            TargetUrl::parse("https://go.example.org/x", &policy)
                .unwrap_err()
                .rule,
            "loop"
        );
        assert_eq!(
            TargetUrl::parse("https://u@localhost/", &policy)
                .unwrap_err()
                .rule,
            "userinfo"
        );
    }

    #[test]
    fn a_mounted_instance_only_owns_its_prefix() {
        let policy = TargetPolicy {
            base: BaseUrl::parse("https://example.org/qr/").unwrap(),
            allow_private: false,
        };
        assert!(TargetUrl::parse("https://example.org/blog/post", &policy).is_ok());
        assert_eq!(
            TargetUrl::parse("https://example.org/QR/talk", &policy)
                .unwrap_err()
                .rule,
            "loop"
        );
        assert_eq!(
            TargetUrl::parse("https://example.org/qr", &policy)
                .unwrap_err()
                .rule,
            "loop"
        );
        // Encoded, doubled or dotted, it is still the prefix.
        for looping in [
            "https://example.org/q%72/x",
            "https://example.org//qr/x",
            "https://example.org/blog/..%2F/qr/x",
            "https://example.org/blog/%2e%2e/qr/x",
        ] {
            assert_eq!(
                TargetUrl::parse(looping, &policy).map_err(|e| e.rule),
                Err("loop"),
                "{looping}"
            );
        }
        assert!(TargetUrl::parse("https://example.org/qrcode", &policy).is_ok());
        assert!(TargetUrl::parse("https://example.org/blog/q%72", &policy).is_ok());
    }

    #[test]
    fn forwarded_queries_go_after_the_targets_own_and_before_the_fragment() {
        let t = parse("https://example.org/p?a=1#frag").unwrap();
        assert_eq!(
            t.with_forwarded_query("x=2"),
            "https://example.org/p?a=1&x=2#frag"
        );
        let t = parse("https://example.org/p").unwrap();
        assert_eq!(t.with_forwarded_query("x=2"), "https://example.org/p?x=2");
        assert_eq!(t.with_forwarded_query(""), "https://example.org/p");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn accepted_targets_are_header_safe_and_normalising_is_idempotent(
            host in "[a-z]{1,10}\\.(org|com|de)",
            path in "\\PC{0,40}",
            query in proptest::option::of("\\PC{0,20}"),
        ) {
            let input = match &query {
                Some(q) => format!("https://{host}/{path}?{q}"),
                None => format!("https://{host}/{path}"),
            };
            if let Ok(target) = parse(&input) {
                prop_assert!(target.as_str().bytes().all(|b| (0x21..=0x7e).contains(&b)), "{}", target);
                prop_assert_eq!(parse(target.as_str()).unwrap(), target.clone());
            }
        }
    }
}
