//! Payload helpers. Uppercase link payloads (R-FWD-5) fit QR's alphanumeric mode.

/// The uppercase form of a short link URL, when every character of it fits QR's alphanumeric
/// mode (`0-9 A-Z space $ % * + - . / :`); `None` otherwise. The caller decides whether the
/// instance allows it: only a base URL without a path may be uppercased, since a proxy in
/// front may route paths case-sensitively.
pub fn uppercase_link(url: &str) -> Option<String> {
    let upper = url.to_ascii_uppercase();
    upper
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b" $%*+-./:".contains(&b))
        .then_some(upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_alphanumeric_urls_are_uppercased() {
        assert_eq!(
            uppercase_link("https://go.example.org/pycon-talk").as_deref(),
            Some("HTTPS://GO.EXAMPLE.ORG/PYCON-TALK")
        );
        assert_eq!(uppercase_link("https://go.example.org/a_b"), None);
        assert_eq!(uppercase_link("https://go.example.org/?q=1"), None);
    }
}
