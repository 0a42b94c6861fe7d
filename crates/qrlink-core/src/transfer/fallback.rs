//! Static fallback export (R-IO-3): the redirect table as it stands now, written for a web
//! server or static host, so printed codes keep working while qrlink is down.
//!
//! Each format is written so that the server matches slugs without regard to case, like
//! qrlink. nginx's `map` and Caddy's `path` matcher compare paths case-insensitively. Netlify
//! and static folders compare exactly, so they list each slug in lowercase and in uppercase:
//! the two forms QR codes encode (R-FWD-5). Permanent statuses become their temporary twins
//! (301 → 302, 308 → 307): a fallback must not teach browsers a target forever. Scheduled
//! changes after the export and query forwarding are not reproduced.

use std::fmt::Write as _;

use jiff::Timestamp;

use crate::error::Result;
use crate::link::{LinkStatus, state_at};
use crate::store::Store;
use crate::target::TargetUrl;

/// The formats of `qrlink export-static`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaticFormat {
    /// `qrlink-map.conf` (in `http {}`) and `qrlink-redirects.conf` (in `server {}`).
    Nginx,
    /// `qrlink.caddy`, to `import` in a site block.
    Caddy,
    /// `_redirects` and `retired.html`.
    Netlify,
    /// A folder per slug with an `index.html` that forwards.
    Html,
}

/// What one slug answers at the time of the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaticAnswer {
    Redirect { status: u16, location: String },
    Retired,
}

/// Every slug (current and alias) with its answer now, in slug order.
pub async fn static_answers(store: &Store, now: Timestamp) -> Result<Vec<(String, StaticAnswer)>> {
    let mut answers = Vec::new();
    store
        .each_route(&mut |routed| {
            let route = &routed.route;
            let (target, status) = state_at(
                &route.target,
                route.status,
                route.schedule.iter().map(|(at, action)| (*at, action)),
                now,
                |target| target,
            );
            let answer = match status {
                LinkStatus::Retired => StaticAnswer::Retired,
                LinkStatus::Active => StaticAnswer::Redirect {
                    status: match route.redirect_status.code() {
                        301 => 302,
                        308 => 307,
                        other => other,
                    },
                    location: rfc3986(target),
                },
            };
            for slug in &routed.slugs {
                answers.push((slug.to_string(), answer.clone()));
            }
        })
        .await?;
    answers.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(answers)
}

/// The target with the characters RFC 3986 never allows unencoded (which WHATWG parsing
/// leaves in queries and fragments) percent-encoded: no format's quoting has to carry them,
/// and every server reads the same URL.
fn rfc3986(target: &TargetUrl) -> String {
    let mut out = String::with_capacity(target.as_str().len());
    for c in target.as_str().chars() {
        match c {
            '"' | '\\' | '{' | '}' | '|' | '^' | '`' | '<' | '>' | ' ' => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            other => out.push(other),
        }
    }
    out
}

/// Writes the files of `format` through `write(relative path, contents)`.
pub async fn export_static(
    store: &Store,
    format: StaticFormat,
    now: Timestamp,
    write: &mut (dyn FnMut(&str, &str) -> Result<()> + Send),
) -> Result<usize> {
    let answers = static_answers(store, now).await?;
    let header = format!(
        "qrlink static fallback of {} slugs as of {now}; later changes and schedules are not in it",
        answers.len()
    );
    match format {
        StaticFormat::Nginx => {
            let (map, redirects) = nginx(&answers, &header);
            write("qrlink-map.conf", &map)?;
            write("qrlink-redirects.conf", &redirects)?;
        }
        StaticFormat::Caddy => write("qrlink.caddy", &caddy(&answers, &header))?,
        StaticFormat::Netlify => {
            write("_redirects", &netlify(&answers, &header))?;
            write("retired.html", &retired_page())?;
        }
        StaticFormat::Html => {
            for (slug, answer) in &answers {
                let page = match answer {
                    StaticAnswer::Redirect { location, .. } => forwarding_page(location),
                    StaticAnswer::Retired => retired_page(),
                };
                for form in both_cases(slug) {
                    write(&format!("{form}/index.html"), &page)?;
                }
            }
        }
    }
    Ok(answers.len())
}

/// The slug as stored and as uppercase codes encode it (once, when it has no letters).
fn both_cases(slug: &str) -> Vec<String> {
    let upper = slug.to_ascii_uppercase();
    if upper == slug {
        vec![upper]
    } else {
        vec![slug.to_owned(), upper]
    }
}

/// A double-quoted nginx string. `$` would start a variable, and nginx has no escape for it, so
/// it is written as `${qrlink_dollar}`, a `geo` variable whose value is a literal `$`.
fn nginx_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("${qrlink_dollar}"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

fn nginx(answers: &[(String, StaticAnswer)], header: &str) -> (String, String) {
    let mut map = format!(
        "# {header}.\n# Include in the http block; include qrlink-redirects.conf in the server block.\n\
         geo $qrlink_dollar {{\n    default \"$\";\n}}\n\n\
         # Strings in a map are matched without regard to case, like qrlink's slugs.\n\
         map $uri $qrlink_status {{\n    default 0;\n"
    );
    for (slug, answer) in answers {
        let status = match answer {
            StaticAnswer::Redirect { status, .. } => *status,
            StaticAnswer::Retired => 410,
        };
        let _ = writeln!(map, "    \"/{slug}\" {status};");
    }
    map.push_str("}\n\nmap $uri $qrlink_location {\n    default \"\";\n");
    for (slug, answer) in answers {
        if let StaticAnswer::Redirect { location, .. } = answer {
            let _ = writeln!(map, "    \"/{slug}\" {};", nginx_string(location));
        }
    }
    map.push_str("}\n");
    let redirects = format!(
        "# {header}.\n# Include in the server block (the maps are in qrlink-map.conf).\n\
         if ($qrlink_status = 410) {{\n    return 410;\n}}\n\
         if ($qrlink_status = 302) {{\n    return 302 $qrlink_location;\n}}\n\
         if ($qrlink_status = 307) {{\n    return 307 $qrlink_location;\n}}\n"
    );
    (map, redirects)
}

fn caddy(answers: &[(String, StaticAnswer)], header: &str) -> String {
    let mut out = format!(
        "# {header}.\n# Import in a site block. Caddy's path matcher ignores case, like qrlink.\n"
    );
    for (slug, answer) in answers {
        match answer {
            // `rfc3986` left no quote, backslash or brace, so the quoted token is taken as is
            // and no `{placeholder}` can appear in it.
            StaticAnswer::Redirect { status, location } => {
                let _ = writeln!(out, "redir /{slug} \"{location}\" {status}");
            }
            StaticAnswer::Retired => {
                let _ = writeln!(out, "respond /{slug} 410");
            }
        }
    }
    out
}

fn netlify(answers: &[(String, StaticAnswer)], header: &str) -> String {
    let mut out = format!(
        "# {header}.\n# Netlify matches paths exactly: each slug is listed in lowercase and uppercase.\n"
    );
    for (slug, answer) in answers {
        for form in both_cases(slug) {
            match answer {
                StaticAnswer::Redirect { status, location } => {
                    let _ = writeln!(out, "/{form} {location} {status}!");
                }
                StaticAnswer::Retired => {
                    let _ = writeln!(out, "/{form} /retired.html 410!");
                }
            }
        }
    }
    out
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn forwarding_page(location: &str) -> String {
    let location = html_escape(location);
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"robots\" content=\"noindex\">\n\
         <meta http-equiv=\"refresh\" content=\"0; url={location}\">\n<title>Redirecting</title>\n</head>\n\
         <body>\n<p><a href=\"{location}\">Continue to {location}</a></p>\n</body>\n</html>\n"
    )
}

fn retired_page() -> String {
    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
     <meta name=\"robots\" content=\"noindex\">\n<title>Link retired</title>\n</head>\n\
     <body>\n<p>This link has been retired by its owner.</p>\n</body>\n</html>\n"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base_url::BaseUrl;
    use crate::target::TargetPolicy;

    fn target(url: &str) -> TargetUrl {
        let policy = TargetPolicy {
            base: BaseUrl::parse("https://go.example.org").unwrap(),
            allow_private: false,
        };
        TargetUrl::parse(url, &policy).unwrap()
    }

    /// Targets whose queries keep characters that each format's quoting must survive.
    fn awkward() -> Vec<(String, StaticAnswer)> {
        let redirect = |url: &str| StaticAnswer::Redirect {
            status: 302,
            location: rfc3986(&target(url)),
        };
        vec![
            (
                "cash".into(),
                redirect("https://example.org/pay?amount=$5&note='hi'&x={y}|z"),
            ),
            (
                "quote".into(),
                redirect("https://example.org/?q=a\"b\\c`d^e"),
            ),
            ("frag".into(), redirect("https://example.org/p?a=1#top;x")),
            ("gone".into(), StaticAnswer::Retired),
        ]
    }

    /// Reads an nginx double-quoted string back, `${qrlink_dollar}` and all.
    fn nginx_unquote(token: &str) -> String {
        let inner = token
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .expect("quoted");
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next().expect("escaped character")),
                '"' => panic!("unescaped quote in {token}"),
                other => out.push(other),
            }
        }
        out.replace("${qrlink_dollar}", "$")
    }

    #[test]
    fn an_nginx_map_reads_back_to_every_answer() {
        let answers = awkward();
        let (map, _) = nginx(&answers, "test");
        let location_map = map.split("map $uri $qrlink_location {").nth(1).unwrap();
        for (slug, answer) in &answers {
            let key = format!("    \"/{slug}\" ");
            let line = location_map.lines().find(|l| l.starts_with(&key));
            match answer {
                StaticAnswer::Redirect { location, .. } => {
                    let value = line
                        .unwrap()
                        .strip_prefix(&key)
                        .unwrap()
                        .strip_suffix(';')
                        .unwrap();
                    assert!(!nginx_unquote(value).contains("${"));
                    assert_eq!(&nginx_unquote(value), location);
                    assert!(
                        !value.replace("${qrlink_dollar}", "").contains('$'),
                        "{value}"
                    );
                }
                StaticAnswer::Retired => assert!(line.is_none()),
            }
        }
    }

    #[test]
    fn caddy_and_netlify_lines_read_back_to_every_answer() {
        let answers = awkward();
        let caddy = caddy(&answers, "test");
        let netlify = netlify(&answers, "test");
        for (slug, answer) in &answers {
            match answer {
                StaticAnswer::Redirect { status, location } => {
                    let line = caddy
                        .lines()
                        .find(|l| l.starts_with(&format!("redir /{slug} ")))
                        .unwrap();
                    let (quoted, code) = line[format!("redir /{slug} ").len()..]
                        .rsplit_once(' ')
                        .unwrap();
                    let token = quoted.strip_prefix('"').unwrap().strip_suffix('"').unwrap();
                    assert!(!token.contains(['"', '\\', '{', '}']), "{token}");
                    assert_eq!(
                        (token, code),
                        (location.as_str(), status.to_string().as_str())
                    );
                    for form in [slug.clone(), slug.to_ascii_uppercase()] {
                        let fields: Vec<&str> = netlify
                            .lines()
                            .find(|l| l.starts_with(&format!("/{form} ")))
                            .unwrap()
                            .split_whitespace()
                            .collect();
                        assert_eq!(
                            fields,
                            [format!("/{form}").as_str(), location, &format!("{status}!")]
                        );
                    }
                }
                StaticAnswer::Retired => {
                    assert!(caddy.contains(&format!("respond /{slug} 410\n")));
                    assert!(netlify.contains(&format!(
                        "/{} /retired.html 410!\n",
                        slug.to_ascii_uppercase()
                    )));
                }
            }
        }
    }

    #[test]
    fn a_forwarding_page_reads_back_to_its_target() {
        for (_, answer) in awkward() {
            let StaticAnswer::Redirect { location, .. } = answer else {
                continue;
            };
            let page = forwarding_page(&location);
            let refresh = page
                .split("content=\"0; url=")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let unescaped = refresh
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            assert_eq!(unescaped, location);
            assert!(!refresh.contains(['<', '>', '\'']), "{refresh}");
        }
    }

    #[test]
    fn the_characters_rfc_3986_forbids_are_percent_encoded() {
        let t = target("https://example.org/?q=a\"b\\c{d}|e^f`g");
        assert_eq!(
            rfc3986(&t),
            "https://example.org/?q=a%22b%5Cc%7Bd%7D%7Ce%5Ef%60g"
        );
    }
}
