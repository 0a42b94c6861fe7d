//! Payload helpers (R-QR-5): the text formats phones understand, each escaped by its own
//! rules, and uppercase link payloads (R-FWD-5). Every helper validates its fields and names
//! the field and the rule when it refuses.

use std::fmt::Write;

use crate::Error;

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

/// Wi-Fi network security, as phones' `WIFI:` parsers name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WifiSecurity {
    /// WPA, WPA2 or WPA3 personal.
    Wpa,
    /// WEP (obsolete, still found on old routers).
    Wep,
    /// An open network without a password.
    None,
}

impl WifiSecurity {
    /// Parses `WPA` (also `WPA2`, `WPA3`, `SAE`), `WEP` or `nopass` (also `none`, `open`).
    pub fn parse(input: &str) -> Result<WifiSecurity, Error> {
        match input.trim().to_ascii_uppercase().as_str() {
            "WPA" | "WPA2" | "WPA3" | "SAE" => Ok(WifiSecurity::Wpa),
            "WEP" => Ok(WifiSecurity::Wep),
            "NOPASS" | "NONE" | "OPEN" => Ok(WifiSecurity::None),
            _ => Err(invalid(
                "security",
                "one_of",
                format!("`{input}` is not WPA, WEP or nopass"),
            )),
        }
    }
}

fn invalid(field: &'static str, rule: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidOption {
        field,
        rule,
        message: message.into(),
    }
}

fn required<'a>(field: &'static str, value: &'a str) -> Result<&'a str, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(field, "required", format!("{field} is required")));
    }
    Ok(value)
}

fn no_controls(field: &'static str, value: &str, allow_newlines: bool) -> Result<(), Error> {
    match value
        .chars()
        .find(|c| c.is_control() && !(allow_newlines && *c == '\n'))
    {
        Some(c) => Err(invalid(
            field,
            "control_character",
            format!("{field} contains the control character U+{:04X}", c as u32),
        )),
        None => Ok(()),
    }
}

/// Backslash-escapes the characters that delimit `WIFI:` and `MECARD:` fields.
fn escape_fields(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ';' | ',' | ':' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `WIFI:T:WPA;S:name;P:secret;;` (the format Android and iOS cameras join networks from).
pub fn wifi(
    ssid: &str,
    password: Option<&str>,
    security: WifiSecurity,
    hidden: bool,
) -> Result<String, Error> {
    if ssid.is_empty() {
        return Err(invalid("ssid", "required", "the network name is required"));
    }
    if ssid.len() > 32 {
        return Err(invalid(
            "ssid",
            "too_long",
            format!(
                "a network name has at most 32 bytes, this one has {}",
                ssid.len()
            ),
        ));
    }
    no_controls("ssid", ssid, false)?;
    let password = password.filter(|p| !p.is_empty());
    if let Some(password) = password {
        no_controls("password", password, false)?;
    }
    let kind = match (security, password) {
        (WifiSecurity::None, Some(_)) => {
            return Err(invalid(
                "password",
                "nopass",
                "an open network (nopass) has no password",
            ));
        }
        (WifiSecurity::None, None) => "nopass",
        (_, None) => {
            return Err(invalid(
                "password",
                "required",
                "a WPA or WEP network needs its password",
            ));
        }
        (WifiSecurity::Wpa, Some(p)) if !(8..=63).contains(&p.chars().count()) => {
            return Err(invalid(
                "password",
                "length",
                "a WPA password has 8 to 63 characters",
            ));
        }
        (WifiSecurity::Wep, Some(p)) if ![5, 10, 13, 26].contains(&p.len()) => {
            return Err(invalid(
                "password",
                "length",
                "a WEP key has 5 or 13 characters, or 10 or 26 hex digits",
            ));
        }
        (WifiSecurity::Wpa, Some(_)) => "WPA",
        (WifiSecurity::Wep, Some(_)) => "WEP",
    };
    let mut out = format!("WIFI:T:{kind};S:{};", escape_fields(ssid));
    if let Some(password) = password {
        let _ = write!(out, "P:{};", escape_fields(password));
    }
    if hidden {
        out.push_str("H:true;");
    }
    out.push(';');
    Ok(out)
}

/// Contact details shared by the vCard and MeCard helpers. Empty fields are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// Full name, required.
    pub name: String,
    /// Company or organisation.
    pub organisation: String,
    /// Phone number.
    pub phone: String,
    /// E-mail address.
    pub email: String,
    /// Web address.
    pub url: String,
    /// Postal address on one line.
    pub address: String,
    /// A note; may span lines.
    pub note: String,
}

impl Contact {
    fn check(&self) -> Result<(), Error> {
        required("name", &self.name)?;
        for (field, value) in [
            ("name", &self.name),
            ("organisation", &self.organisation),
            ("phone", &self.phone),
            ("email", &self.email),
            ("url", &self.url),
            ("address", &self.address),
        ] {
            no_controls(field, value, false)?;
        }
        no_controls("note", &self.note, true)?;
        if !self.phone.is_empty() {
            check_phone("phone", &self.phone)?;
        }
        if !self.email.is_empty() {
            check_email("email", &self.email)?;
        }
        Ok(())
    }
}

/// `MECARD:N:name;TEL:…;;`, compact and widely read.
pub fn mecard(contact: &Contact) -> Result<String, Error> {
    contact.check()?;
    let mut out = format!("MECARD:N:{};", escape_fields(contact.name.trim()));
    for (key, value) in [
        ("ORG", &contact.organisation),
        ("TEL", &contact.phone),
        ("EMAIL", &contact.email),
        ("URL", &contact.url),
        ("ADR", &contact.address),
        ("NOTE", &contact.note),
    ] {
        if !value.trim().is_empty() {
            let _ = write!(
                out,
                "{key}:{};",
                escape_fields(&value.trim().replace('\n', " "))
            );
        }
    }
    out.push(';');
    Ok(out)
}

/// Escapes a vCard text value (RFC 6350 3.4): backslash, comma, semicolon and newline.
fn escape_vcard(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out
}

/// A vCard 3.0 with CRLF line ends, as address books import it.
pub fn vcard(contact: &Contact) -> Result<String, Error> {
    contact.check()?;
    let name = escape_vcard(contact.name.trim());
    let mut out = format!("BEGIN:VCARD\r\nVERSION:3.0\r\nN:{name};;;;\r\nFN:{name}\r\n");
    for (key, value) in [
        ("ORG", &contact.organisation),
        ("TEL", &contact.phone),
        ("EMAIL", &contact.email),
        ("URL", &contact.url),
        ("NOTE", &contact.note),
    ] {
        if !value.trim().is_empty() {
            let _ = write!(out, "{key}:{}\r\n", escape_vcard(value.trim()));
        }
    }
    if !contact.address.trim().is_empty() {
        let _ = write!(
            out,
            "ADR:;;{};;;;\r\n",
            escape_vcard(contact.address.trim())
        );
    }
    out.push_str("END:VCARD");
    Ok(out)
}

/// `geo:lat,lon` (RFC 5870), with at most 7 decimals (about a centimetre).
pub fn geo(latitude: f64, longitude: f64) -> Result<String, Error> {
    if !(-90.0..=90.0).contains(&latitude) {
        return Err(invalid(
            "latitude",
            "range",
            "latitude is between -90 and 90",
        ));
    }
    if !(-180.0..=180.0).contains(&longitude) {
        return Err(invalid(
            "longitude",
            "range",
            "longitude is between -180 and 180",
        ));
    }
    let trim = |v: f64| {
        let text = format!("{v:.7}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    };
    Ok(format!("geo:{},{}", trim(latitude), trim(longitude)))
}

fn check_phone(field: &'static str, number: &str) -> Result<(), Error> {
    let number = number.trim();
    let digits = number.chars().filter(char::is_ascii_digit).count();
    if digits < 3
        || !number
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().*#".contains(c))
    {
        return Err(invalid(
            field,
            "phone",
            format!("`{number}` is not a phone number (digits, spaces, + - ( ) * #)"),
        ));
    }
    Ok(())
}

fn check_email(field: &'static str, address: &str) -> Result<(), Error> {
    let address = address.trim();
    let valid = match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !address
                    .chars()
                    .any(|c| c.is_whitespace() || "<>?&,;\"".contains(c))
        }
        None => false,
    };
    if !valid {
        return Err(invalid(
            field,
            "email",
            format!("`{address}` is not an e-mail address"),
        ));
    }
    Ok(())
}

/// Percent-encodes everything but unreserved characters, for `mailto:` and `sms:` queries.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `mailto:to?subject=…&body=…` (RFC 6068).
pub fn email(to: &str, subject: Option<&str>, body: Option<&str>) -> Result<String, Error> {
    check_email("to", required("to", to)?)?;
    let mut out = format!("mailto:{}", to.trim());
    let mut joiner = '?';
    for (key, value) in [("subject", subject), ("body", body)] {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            let _ = write!(out, "{joiner}{key}={}", percent_encode(value));
            joiner = '&';
        }
    }
    Ok(out)
}

fn compact_phone(number: &str) -> String {
    number
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+' || *c == '*' || *c == '#')
        .collect()
}

/// `sms:number?body=…` (RFC 5724).
pub fn sms(number: &str, body: Option<&str>) -> Result<String, Error> {
    check_phone("number", required("number", number)?)?;
    let mut out = format!("sms:{}", compact_phone(number));
    if let Some(body) = body.filter(|b| !b.is_empty()) {
        let _ = write!(out, "?body={}", percent_encode(body));
    }
    Ok(out)
}

/// `tel:number` (RFC 3966), spaces and punctuation removed.
pub fn tel(number: &str) -> Result<String, Error> {
    check_phone("number", required("number", number)?)?;
    Ok(format!("tel:{}", compact_phone(number)))
}

/// A SEPA credit transfer (EPC069-12 "GiroCode", version 002, UTF-8). Amount in euro cents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transfer {
    /// Beneficiary name, at most 70 characters.
    pub name: String,
    /// Beneficiary IBAN (spaces allowed).
    pub iban: String,
    /// Beneficiary BIC, optional within the EEA.
    pub bic: String,
    /// Amount in euro cents, if fixed.
    pub amount_cents: Option<u64>,
    /// Structured creditor reference (either this or `text`).
    pub reference: String,
    /// Remittance text for the beneficiary.
    pub text: String,
}

/// The EPC payload. Scanners require error-correction level M for it.
pub fn epc(transfer: &Transfer) -> Result<String, Error> {
    let name = required("name", &transfer.name)?;
    if name.chars().count() > 70 {
        return Err(invalid(
            "name",
            "too_long",
            "the beneficiary name has at most 70 characters",
        ));
    }
    let iban: String = transfer
        .iban
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    check_iban(&iban)?;
    let bic = transfer.bic.trim().to_ascii_uppercase();
    let bic_shape =
        (bic.len() == 8 || bic.len() == 11) && bic.chars().all(|c| c.is_ascii_alphanumeric());
    if !bic.is_empty() && !bic_shape {
        return Err(invalid(
            "bic",
            "format",
            "a BIC has 8 or 11 letters and digits",
        ));
    }
    let amount = match transfer.amount_cents {
        Some(0) | Some(100_000_000_000..) => {
            return Err(invalid(
                "amount",
                "range",
                "the amount is between 0.01 and 999999999.99 EUR",
            ));
        }
        Some(cents) => format!("EUR{}.{:02}", cents / 100, cents % 100),
        None => String::new(),
    };
    let reference = transfer.reference.trim();
    let text = transfer.text.trim();
    if reference.chars().count() > 35 {
        return Err(invalid(
            "reference",
            "too_long",
            "the remittance reference has at most 35 characters",
        ));
    }
    if text.chars().count() > 140 {
        return Err(invalid(
            "text",
            "too_long",
            "the remittance text has at most 140 characters",
        ));
    }
    if !reference.is_empty() && !text.is_empty() {
        return Err(invalid(
            "text",
            "exclusive",
            "give either a structured reference or a text, not both",
        ));
    }
    for (field, value) in [("name", name), ("reference", reference), ("text", text)] {
        no_controls(field, value, false)?;
    }
    Ok(
        format!("BCD\n002\n1\nSCT\n{bic}\n{name}\n{iban}\n{amount}\n\n{reference}\n{text}")
            .trim_end_matches('\n')
            .to_owned(),
    )
}

/// IBAN: 15 to 34 letters and digits, check digits valid (ISO 13616, mod 97).
fn check_iban(iban: &str) -> Result<(), Error> {
    let shape = (15..=34).contains(&iban.len())
        && iban.chars().all(|c| c.is_ascii_alphanumeric())
        && iban[..2].chars().all(|c| c.is_ascii_alphabetic())
        && iban[2..4].chars().all(|c| c.is_ascii_digit());
    if !shape {
        return Err(invalid(
            "iban",
            "format",
            "an IBAN is a country code, two check digits and up to 30 letters and digits",
        ));
    }
    let rearranged = format!("{}{}", &iban[4..], &iban[..4]);
    let mut remainder: u32 = 0;
    for c in rearranged.chars() {
        let value = c.to_digit(36).expect("alphanumeric");
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    if remainder != 1 {
        return Err(invalid(
            "iban",
            "checksum",
            "the IBAN's check digits do not match; check for a typing error",
        ));
    }
    Ok(())
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

    #[test]
    fn wifi_escapes_its_delimiters_and_checks_passwords() {
        assert_eq!(
            wifi(
                "Caf\u{e9};Guest",
                Some("p\\a:ss,\"word\""),
                WifiSecurity::Wpa,
                true
            )
            .unwrap(),
            "WIFI:T:WPA;S:Caf\u{e9}\\;Guest;P:p\\\\a\\:ss\\,\\\"word\\\";H:true;;"
        );
        assert_eq!(
            wifi("Open", None, WifiSecurity::None, false).unwrap(),
            "WIFI:T:nopass;S:Open;;"
        );
        let rule = |r: Result<String, Error>| match r {
            Err(Error::InvalidOption { field, rule, .. }) => (field, rule),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            rule(wifi("x", Some("short"), WifiSecurity::Wpa, false)),
            ("password", "length")
        );
        assert_eq!(
            rule(wifi("x", None, WifiSecurity::Wpa, false)),
            ("password", "required")
        );
        assert_eq!(
            rule(wifi("x", Some("secret12"), WifiSecurity::None, false)),
            ("password", "nopass")
        );
        assert_eq!(
            rule(wifi("", None, WifiSecurity::None, false)),
            ("ssid", "required")
        );
        assert_eq!(
            rule(wifi(&"n".repeat(33), None, WifiSecurity::None, false)),
            ("ssid", "too_long")
        );
    }

    #[test]
    fn contacts_escape_per_format() {
        let contact = Contact {
            name: "Doe, Jane; PhD".into(),
            phone: "+49 30 1234567".into(),
            email: "jane@example.org".into(),
            note: "line one\nline two".into(),
            ..Contact::default()
        };
        assert_eq!(
            mecard(&contact).unwrap(),
            "MECARD:N:Doe\\, Jane\\; PhD;TEL:+49 30 1234567;EMAIL:jane@example.org;NOTE:line one line two;;"
        );
        assert_eq!(
            vcard(&contact).unwrap(),
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe\\, Jane\\; PhD;;;;\r\nFN:Doe\\, Jane\\; PhD\r\nTEL:+49 30 1234567\r\nEMAIL:jane@example.org\r\nNOTE:line one\\nline two\r\nEND:VCARD"
        );
        let bad = Contact {
            email: "not-an-address".into(),
            ..contact.clone()
        };
        assert!(matches!(
            vcard(&bad),
            Err(Error::InvalidOption { field: "email", .. })
        ));
    }

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(
            email("a@example.org", Some("Hi & bye"), Some("x=1\n")).unwrap(),
            "mailto:a@example.org?subject=Hi%20%26%20bye&body=x%3D1%0A"
        );
        assert_eq!(
            sms("+49 (30) 123", Some("ja?")).unwrap(),
            "sms:+4930123?body=ja%3F"
        );
        assert_eq!(tel("+1 555-0100").unwrap(), "tel:+15550100");
        assert_eq!(geo(52.52, -13.405).unwrap(), "geo:52.52,-13.405");
        assert!(geo(91.0, 0.0).is_err());
        assert!(tel("call me").is_err());
    }

    #[test]
    fn epc_checks_iban_and_amount() {
        let transfer = Transfer {
            name: "Red Cross".into(),
            iban: "DE89 3704 0044 0532 0130 00".into(),
            bic: "COBADEFFXXX".into(),
            amount_cents: Some(1250),
            reference: String::new(),
            text: "Donation".into(),
        };
        assert_eq!(
            epc(&transfer).unwrap(),
            "BCD\n002\n1\nSCT\nCOBADEFFXXX\nRed Cross\nDE89370400440532013000\nEUR12.50\n\n\nDonation"
        );
        let typo = Transfer {
            iban: "DE89370400440532013001".into(),
            ..transfer.clone()
        };
        assert!(matches!(
            epc(&typo),
            Err(Error::InvalidOption {
                field: "iban",
                rule: "checksum",
                ..
            })
        ));
        let zero = Transfer {
            amount_cents: Some(0),
            ..transfer
        };
        assert!(matches!(
            epc(&zero),
            Err(Error::InvalidOption {
                field: "amount",
                ..
            })
        ));
    }
}
