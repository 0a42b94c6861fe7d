//! `BaseUrl`: the instance's public address, which every short URL and QR payload starts with.

use url::Url;

use crate::error::Invalid;
use crate::slug::Slug;

/// The public base URL: `http` or `https`, a host, an optional port, and an optional path
/// prefix that always ends with `/` (qrlink mounted under `https://example.org/qr/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    url: Url,
}

impl BaseUrl {
    pub fn parse(input: &str) -> Result<BaseUrl, Invalid> {
        const FIELD: &str = "base_url";
        let mut url = Url::parse(input)
            .map_err(|e| Invalid::new(FIELD, "url", format!("not an absolute URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Invalid::new(
                FIELD,
                "scheme",
                "the base URL must start with http:// or https://",
            ));
        }
        if url.host().is_none() {
            return Err(Invalid::new(FIELD, "host", "the base URL needs a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Invalid::new(
                FIELD,
                "userinfo",
                "the base URL may not contain a user name or password",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Invalid::new(
                FIELD,
                "path_only",
                "the base URL may not have a query or fragment",
            ));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(BaseUrl { url })
    }

    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// Whether `origin` (an `Origin` header: scheme, host and port) is this instance's.
    pub fn is_origin(&self, origin: &str) -> bool {
        Url::parse(origin).is_ok_and(|origin| origin.origin() == self.url.origin())
    }

    /// The host in ASCII (punycode) form, lowercase, without port.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// The path prefix, `/` when qrlink owns the whole host.
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// True when the base URL is scheme, host and port only, so link codes can be uppercased (R-FWD-5).
    pub fn has_root_path(&self) -> bool {
        self.path() == "/"
    }

    /// The short URL that a link's QR code encodes: exactly the route that answers it.
    pub fn link_url(&self, slug: &Slug) -> String {
        format!("{}{}", self.url, slug)
    }

    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// What a link's QR code encodes (R-FWD-5): its short URL, uppercased into QR's
    /// alphanumeric mode (a smaller symbol) when `allow_uppercase` and the base URL has no path,
    /// since a proxy in front of a mounted instance may route paths case-sensitively.
    pub fn code_payload(&self, slug: &Slug, allow_uppercase: bool) -> String {
        let url = self.link_url(slug);
        if allow_uppercase && self.has_root_path() {
            qrlink_qr::payload::uppercase_link(&url).unwrap_or(url)
        } else {
            url
        }
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.url.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_urls_have_no_extra_hop() {
        let root = BaseUrl::parse("https://GO.example.org").unwrap();
        assert_eq!(
            root.link_url(&Slug::parse("talk").unwrap()),
            "https://go.example.org/talk"
        );
        assert!(root.has_root_path());
        let mounted = BaseUrl::parse("https://example.org/qr").unwrap();
        assert_eq!(
            mounted.link_url(&Slug::parse("talk").unwrap()),
            "https://example.org/qr/talk"
        );
        assert!(!mounted.has_root_path());
    }

    #[test]
    fn link_codes_are_uppercase_only_without_a_path() {
        let slug = Slug::parse("pycon-talk").unwrap();
        let root = BaseUrl::parse("https://go.example.org").unwrap();
        assert_eq!(
            root.code_payload(&slug, true),
            "HTTPS://GO.EXAMPLE.ORG/PYCON-TALK"
        );
        assert_eq!(
            root.code_payload(&slug, false),
            "https://go.example.org/pycon-talk"
        );
        let mounted = BaseUrl::parse("https://example.org/qr/").unwrap();
        assert_eq!(
            mounted.code_payload(&slug, true),
            "https://example.org/qr/pycon-talk"
        );
    }

    #[test]
    fn refuses_what_cannot_be_a_base() {
        for (input, rule) in [
            ("go.example.org", "url"),
            ("ftp://go.example.org", "scheme"),
            ("https://u:p@go.example.org", "userinfo"),
            ("https://go.example.org/?a=1", "path_only"),
        ] {
            assert_eq!(BaseUrl::parse(input).unwrap_err().rule, rule, "{input}");
        }
    }
}
