//! `Slug`: the path segment a printed code encodes. Only `Slug::parse` and `Slug::generate` make one.

use rand::Rng;

use crate::error::Invalid;

/// A link's slug: lowercase ASCII `[a-z0-9-]`, 1 to 64 characters, no leading or trailing `-`.
///
/// Because every application route lives under `/_/`, and `_` is outside the alphabet, no
/// slug can ever shadow a route.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Slug(Box<str>);

pub const MAX_SLUG_LEN: usize = 64;

/// Letters and digits that cannot be mistaken for each other when read aloud or printed:
/// no `0 o 1 l i`.
pub const GENERATED_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// Length of generated slugs: 31^7 is about 2.7e10 possibilities.
pub const GENERATED_LEN: usize = 7;

impl Slug {
    /// Parses user input. ASCII letters are folded to lowercase (slugs are case-insensitive);
    /// anything outside the alphabet is refused rather than silently changed.
    pub fn parse(input: &str) -> Result<Slug, Invalid> {
        const FIELD: &str = "slug";
        if input.is_empty() {
            return Err(Invalid::new(
                FIELD,
                "required",
                "a slug must have at least one character",
            ));
        }
        if input.len() > MAX_SLUG_LEN {
            return Err(Invalid::new(
                FIELD,
                "too_long",
                format!(
                    "a slug has at most {MAX_SLUG_LEN} characters, this one has {}",
                    input.chars().count()
                ),
            ));
        }
        if let Some(bad) = input
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            let shown = if bad.is_ascii_graphic() {
                format!("`{bad}`")
            } else {
                format!("U+{:04X}", bad as u32)
            };
            return Err(Invalid::new(
                FIELD,
                "alphabet",
                format!("a slug may contain only letters a-z, digits and `-`; found {shown}"),
            ));
        }
        if input.starts_with('-') || input.ends_with('-') {
            return Err(Invalid::new(
                FIELD,
                "edge_hyphen",
                "a slug may not start or end with `-`",
            ));
        }
        Ok(Slug(input.to_ascii_lowercase().into_boxed_str()))
    }

    /// Draws a random slug of [`GENERATED_LEN`] characters from [`GENERATED_ALPHABET`].
    pub fn generate(rng: &mut impl Rng) -> Slug {
        let slug: String = (0..GENERATED_LEN)
            .map(|_| GENERATED_ALPHABET[rng.random_range(0..GENERATED_ALPHABET.len())] as char)
            .collect();
        Slug(slug.into_boxed_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn accepts_and_folds_case() {
        assert_eq!(Slug::parse("PyCon-Talk").unwrap().as_str(), "pycon-talk");
        assert_eq!(Slug::parse("a").unwrap().as_str(), "a");
        assert_eq!(Slug::parse(&"x".repeat(64)).unwrap().as_str().len(), 64);
    }

    #[test]
    fn refusals_name_the_rule() {
        let table = [
            ("", "required"),
            ("-talk", "edge_hyphen"),
            ("talk-", "edge_hyphen"),
            ("_admin", "alphabet"),
            ("_", "alphabet"),
            ("a/b", "alphabet"),
            ("a b", "alphabet"),
            ("caf\u{e9}", "alphabet"),
            ("\u{212a}elvin", "alphabet"), // KELVIN SIGN would lowercase to ASCII k under Unicode rules
            ("a.b", "alphabet"),
            ("a+", "alphabet"),
            ("a\nb", "alphabet"),
            ("a%20b", "alphabet"),
        ];
        for (input, rule) in table {
            let err = Slug::parse(input).unwrap_err();
            assert_eq!((input, err.field, err.rule), (input, "slug", rule));
        }
        assert_eq!(Slug::parse(&"x".repeat(65)).unwrap_err().rule, "too_long");
    }

    #[test]
    fn generated_slugs_avoid_look_alikes() {
        let seed = 7;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        for _ in 0..1000 {
            let slug = Slug::generate(&mut rng);
            assert_eq!(slug.as_str().len(), GENERATED_LEN);
            assert!(
                !slug.as_str().contains(['0', 'o', '1', 'l', 'i']),
                "seed {seed}: {slug}"
            );
            assert_eq!(Slug::parse(slug.as_str()).unwrap(), slug);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn parsing_is_idempotent(input in "[A-Za-z0-9-]{1,64}") {
            if let Ok(slug) = Slug::parse(&input) {
                prop_assert_eq!(Slug::parse(slug.as_str()).unwrap(), slug.clone());
                prop_assert_eq!(slug.as_str(), input.to_ascii_lowercase());
            }
        }
    }
}
