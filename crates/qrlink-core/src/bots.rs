//! Which requests are previews rather than visits: link-preview bots and browser prefetches.
//! Their hits are counted apart (R-LNK-6). The list is one place, with tests, so it can grow.

/// Substrings of `User-Agent` headers sent by services that fetch a link to show a preview
/// card, or crawl it, rather than a person following it. Matched case-insensitively. Names of
/// apps whose in-app browsers people click through (Teams, Outlook, Snapchat, LINE…) do not
/// belong here: their visits are real.
pub const PREVIEW_BOTS: &[&str] = &[
    "facebookexternalhit",
    "facebookcatalog",
    "slackbot",
    "slack-imgproxy",
    "twitterbot",
    "whatsapp",
    "telegrambot",
    "discordbot",
    "linkedinbot",
    "skypeuripreview",
    "microsoftpreview",
    "mattermost",
    "rocket.chat",
    "iframely",
    "embedly",
    "pinterestbot",
    "redditbot",
    "applebot",
    "googlebot",
    "bingbot",
    "duckduckbot",
    "yandexbot",
    "baiduspider",
    "mastodon",
    "pleroma",
    "akkoma",
    "bluesky",
    "vkshare",
    "google-pagerenderer",
    "bot/",
    "crawler",
    "spider",
    "preview",
];

/// True when the request is a preview bot or a prefetch, given its `User-Agent` and the
/// values of `Sec-Purpose`/`Purpose`/`X-Moz` headers.
pub fn is_preview(user_agent: Option<&[u8]>, purpose: Option<&[u8]>) -> bool {
    if let Some(purpose) = purpose
        && contains_ignore_case(purpose, "prefetch")
    {
        return true;
    }
    user_agent.is_some_and(|ua| PREVIEW_BOTS.iter().any(|bot| contains_ignore_case(ua, bot)))
}

fn contains_ignore_case(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    haystack.len() >= needle.len()
        && haystack
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_and_prefetches_are_told_apart_from_people() {
        let previews = [
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Twitterbot/1.0",
            "WhatsApp/2.23.20.0",
            "TelegramBot (like TwitterBot)",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            "Mastodon/4.2.0 (http.rb/5.1.1; +https://social.example/)",
        ];
        for ua in previews {
            assert!(is_preview(Some(ua.as_bytes()), None), "{ua}");
        }
        let people = [
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
            "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        ];
        for ua in people {
            assert!(!is_preview(Some(ua.as_bytes()), None), "{ua}");
        }
        assert!(is_preview(
            Some(people[0].as_bytes()),
            Some(b"prefetch;prerender")
        ));
        assert!(!is_preview(None, None));
    }
}
