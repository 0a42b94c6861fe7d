//! Which requests are previews rather than visits: link-preview bots and browser prefetches.
//! Their hits are counted apart (R-LNK-6). The list is one place, with tests, so it can grow.

use std::cell::RefCell;
use std::hash::BuildHasher;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

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

/// [`PREVIEW_BOTS`] as one automaton, so a `User-Agent` is read once whatever the list's
/// length. Trying each name at every position instead took about 5.5 µs for a phone
/// browser's 120-byte `User-Agent` (`examples/redirect_path`): ten times the rest of a
/// redirect, at every visit.
static PREVIEW_BOT_NAMES: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        // A full DFA: one table lookup per byte; 250 ns for that `User-Agent`, against 290
        // for the automaton the builder picks by default.
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build(PREVIEW_BOTS)
        .expect("a short list of plain names builds")
});

/// True when the request is a preview bot or a prefetch, given its `User-Agent` and the
/// values of `Sec-Purpose`/`Purpose`/`X-Moz` headers.
pub fn is_preview(user_agent: Option<&[u8]>, purpose: Option<&[u8]>) -> bool {
    if let Some(purpose) = purpose
        && contains_ignore_case(purpose, "prefetch")
    {
        return true;
    }
    user_agent.is_some_and(|ua| RECENT_AGENTS.with(|recent| recent.borrow_mut().is_preview(ua)))
}

thread_local! {
    /// Each thread's verdicts on the `User-Agent`s it saw last.
    static RECENT_AGENTS: RefCell<RecentAgents> = RefCell::new(RecentAgents::with_slots(64));
}

/// The longest `User-Agent` whose verdict is remembered, room for in-app browsers' long
/// headers. Longer ones go through the automaton each time.
const REMEMBERED_LEN: usize = 384;

/// Verdicts on recently seen `User-Agent`s, each remembered with the whole header, in a
/// fixed number of slots chosen by hash: nothing is allocated after the first use, and a new
/// header evicts whatever shared its slot.
///
/// Visits come from few distinct `User-Agent`s: browsers freeze most of theirs (Chrome on
/// Android sends the same one from every phone), so the few in use at a time stay
/// remembered. Finding one costs a hash and a comparison, about a tenth of the automaton's
/// 1,800 instructions for a phone's 120-byte header (callgrind), which were the largest
/// part of the work qrlink adds to a redirect. A verdict is only ever the automaton's for
/// the same bytes, so remembering changes no count.
struct RecentAgents {
    hasher: foldhash::fast::RandomState,
    slots: Box<[Remembered]>,
}

struct Remembered {
    len: u16,
    preview: bool,
    agent: [u8; REMEMBERED_LEN],
}

impl RecentAgents {
    fn with_slots(slots: usize) -> RecentAgents {
        let empty = || Remembered {
            // No header has this length, so an empty slot matches none.
            len: u16::MAX,
            preview: false,
            agent: [0; REMEMBERED_LEN],
        };
        RecentAgents {
            hasher: foldhash::fast::RandomState::default(),
            slots: (0..slots).map(|_| empty()).collect(),
        }
    }

    fn is_preview(&mut self, agent: &[u8]) -> bool {
        if agent.len() > REMEMBERED_LEN {
            return PREVIEW_BOT_NAMES.is_match(agent);
        }
        let at = self.hasher.hash_one(agent) as usize % self.slots.len();
        let slot = &mut self.slots[at];
        if usize::from(slot.len) != agent.len() || slot.agent[..agent.len()] != *agent {
            slot.preview = PREVIEW_BOT_NAMES.is_match(agent);
            slot.agent[..agent.len()].copy_from_slice(agent);
            slot.len = agent.len() as u16;
        }
        slot.preview
    }
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

    /// A remembered verdict is always the automaton's for the same bytes: headers that share
    /// a slot, differ in one byte, or are a prefix of one another each get their own.
    #[test]
    fn remembered_verdicts_are_the_automatons() {
        use rand::{Rng, SeedableRng};
        let seed = rand::random::<u64>();
        println!("seed {seed}");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let person = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 Chrome/131.0 Mobile";
        let mut agents: Vec<String> = vec![
            person.into(),
            format!("{person} Twitterbot/1.0"),
            format!("{person} Twitterbut/1.0"),
            format!("{person} Twitterbo"),
            "slackbot".into(),
            "slackbut".into(),
            format!("{} bot/", "x".repeat(REMEMBERED_LEN)),
            "x".repeat(REMEMBERED_LEN + 1),
            format!("{} bot/", &"x".repeat(REMEMBERED_LEN)[5..]),
        ];
        for bot in PREVIEW_BOTS {
            agents.push(format!("{person} {bot}"));
            agents.push(format!("{person} {}", &bot[1..]));
        }
        for slots in [1, 3, 64] {
            let mut recent = RecentAgents::with_slots(slots);
            for _ in 0..2_000 {
                let agent = agents[rng.random_range(0..agents.len())].as_bytes();
                assert_eq!(
                    recent.is_preview(agent),
                    PREVIEW_BOT_NAMES.is_match(agent),
                    "seed {seed}, {slots} slots: {}",
                    String::from_utf8_lossy(agent)
                );
            }
        }
    }

    /// Every name on the list is found in any case and anywhere in a `User-Agent`, as a
    /// plain case-insensitive search for each name in turn finds it.
    #[test]
    fn every_listed_name_is_found_in_any_case_and_place() {
        let person = "Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36";
        for bot in PREVIEW_BOTS {
            for ua in [
                bot.to_string(),
                bot.to_ascii_uppercase(),
                format!("{person} {bot}/1.0"),
                format!("{}{}", &person[..20], bot.to_ascii_uppercase()),
            ] {
                let listed = PREVIEW_BOTS
                    .iter()
                    .any(|b| contains_ignore_case(ua.as_bytes(), b));
                assert!(listed, "{ua}");
                assert_eq!(is_preview(Some(ua.as_bytes()), None), listed, "{ua}");
            }
            // Cut short, the name no longer matches (unless a shorter name is inside it).
            let cut = &bot[..bot.len() - 1];
            let listed = PREVIEW_BOTS
                .iter()
                .any(|b| contains_ignore_case(cut.as_bytes(), b));
            assert_eq!(is_preview(Some(cut.as_bytes()), None), listed, "{cut}");
        }
    }
}
