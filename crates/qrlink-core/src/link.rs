//! The link model: what a link is, what changed it (history), and what it will do (schedule).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::slug::Slug;
use crate::target::TargetUrl;

/// Database identity of a link; stable across renames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct LinkId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    Active,
    Retired,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Active => "active",
            LinkStatus::Retired => "retired",
        }
    }

    pub(crate) fn from_stored(stored: &str) -> LinkStatus {
        if stored == "retired" {
            LinkStatus::Retired
        } else {
            LinkStatus::Active
        }
    }
}

/// The HTTP status a link redirects with: 301, 302 (default), 307 or 308.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RedirectStatus(u16);

impl RedirectStatus {
    pub const FOUND: RedirectStatus = RedirectStatus(302);

    pub fn parse(code: u16) -> Result<RedirectStatus, Invalid> {
        match code {
            301 | 302 | 307 | 308 => Ok(RedirectStatus(code)),
            other => Err(Invalid::new(
                "redirect_status",
                "one_of",
                format!("the redirect status must be 301, 302, 307 or 308, not {other}"),
            )),
        }
    }

    pub fn code(self) -> u16 {
        self.0
    }

    /// Permanent redirects are cached by browsers; qrlink caps that at 90 seconds (R-FWD-1).
    pub fn is_permanent(self) -> bool {
        matches!(self.0, 301 | 308)
    }

    pub(crate) fn from_stored(code: i64) -> RedirectStatus {
        u16::try_from(code)
            .ok()
            .and_then(|c| RedirectStatus::parse(c).ok())
            .unwrap_or(Self::FOUND)
    }
}

impl Default for RedirectStatus {
    fn default() -> Self {
        Self::FOUND
    }
}

/// A tag: lowercase `[a-z0-9._-]`, 1 to 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Tag(Box<str>);

impl Tag {
    pub fn parse(input: &str) -> Result<Tag, Invalid> {
        let tag = input.trim().to_ascii_lowercase();
        if tag.is_empty() || tag.len() > 40 {
            return Err(Invalid::new(
                "tags",
                "length",
                "a tag has 1 to 40 characters",
            ));
        }
        if !tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        {
            return Err(Invalid::new(
                "tags",
                "alphabet",
                "a tag may contain only letters a-z, digits, `.`, `_` and `-`",
            ));
        }
        Ok(Tag(tag.into_boxed_str()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A link's tags: each parsed, then sorted and without repeats, as the store keeps them.
    pub fn parse_all<S: AsRef<str>>(
        tags: impl IntoIterator<Item = S>,
    ) -> Result<Vec<Tag>, Invalid> {
        let too_many = || {
            Invalid::new(
                "tags",
                "too_many",
                format!("a link has at most {MAX_TAGS} tags"),
            )
        };
        let mut parsed = Vec::new();
        for tag in tags {
            // A list far beyond the limit is refused without reading it all, even if it
            // repeats itself.
            if parsed.len() == 4 * MAX_TAGS {
                return Err(too_many());
            }
            parsed.push(Tag::parse(tag.as_ref())?);
        }
        parsed.sort();
        parsed.dedup();
        if parsed.len() > MAX_TAGS {
            return Err(too_many());
        }
        Ok(parsed)
    }
}

/// Tags one link may carry.
pub const MAX_TAGS: usize = 50;

/// Characters that reorder the text around them (Unicode bidirectional controls): in a title
/// they can make a link read as something it is not (`U+202E` turns what follows around).
const BIDI_CONTROLS: &[char] = &[
    '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
];

/// Checks free text (titles, notes, reasons): a length limit, no control characters except,
/// where `multiline`, newlines and tabs, and no bidirectional controls.
pub fn parse_text(
    field: &'static str,
    input: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<String, Invalid> {
    let text = input.trim();
    if text.chars().count() > max_chars {
        return Err(Invalid::new(
            field,
            "too_long",
            format!("{field} has at most {max_chars} characters"),
        ));
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\t');
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() && !allowed(*c) && *c != '\r')
    {
        return Err(Invalid::new(
            field,
            "control_character",
            format!(
                "{field} may not contain the control character U+{:04X}",
                c as u32
            ),
        ));
    }
    if let Some(c) = text.chars().find(|c| BIDI_CONTROLS.contains(c)) {
        return Err(Invalid::new(
            field,
            "bidi_control",
            format!(
                "{field} may not contain the direction control U+{:04X}, which makes text read out of order",
                c as u32
            ),
        ));
    }
    if !multiline && text.contains('\r') {
        return Err(Invalid::new(
            field,
            "control_character",
            format!("{field} must be a single line"),
        ));
    }
    Ok(text.replace("\r\n", "\n"))
}

pub const MAX_TITLE: usize = 200;
pub const MAX_NOTES: usize = 2000;
pub const MAX_REASON: usize = 500;

/// Through which front end a change was made; history and audit record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interface {
    Cli,
    Web,
    Api,
    File,
    /// A scheduled change that came due.
    Schedule,
}

impl Interface {
    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Cli => "cli",
            Interface::Web => "web",
            Interface::Api => "api",
            Interface::File => "file",
            Interface::Schedule => "schedule",
        }
    }

    pub(crate) fn from_stored(stored: &str) -> Interface {
        match stored {
            "web" => Interface::Web,
            "api" => Interface::Api,
            "file" => Interface::File,
            "schedule" => Interface::Schedule,
            _ => Interface::Cli,
        }
    }
}

/// Who makes a change, and through which interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub interface: Interface,
}

impl Actor {
    pub fn new(name: impl Into<String>, interface: Interface) -> Self {
        Actor {
            name: name.into(),
            interface,
        }
    }
}

/// What a schedule entry does when its time comes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ScheduledAction {
    Target { target: TargetUrl },
    Retire,
}

/// Pending schedule entries a link may hold. Each write to a link reads its pending entries,
/// so this bounds the work of any write, and of applying a links file, to linear in its size.
pub const MAX_SCHEDULE_ENTRIES: usize = 100;

/// A future change, in force from `at` on. Every replica evaluates it at request time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleEntry {
    pub id: i64,
    pub at: Timestamp,
    #[serde(flatten)]
    pub action: ScheduledAction,
    pub created_at: Timestamp,
    pub actor: String,
}

/// One recorded change. Old targets are plain strings: they were valid when set, and history
/// is never rewritten, even if today's rules would refuse them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    Created {
        slug: String,
        target: String,
    },
    Target {
        old: String,
        new: String,
    },
    Slug {
        old: String,
        new: String,
    },
    Status {
        old: LinkStatus,
        new: LinkStatus,
    },
    Lock {
        locked: bool,
    },
    /// `at` is when the entry takes effect; in JSON `effective_at`, as the entry has its own
    /// `at` (when the change was made).
    Scheduled {
        #[serde(rename = "effective_at")]
        at: Timestamp,
        target: Option<String>,
    },
    Unscheduled {
        #[serde(rename = "effective_at")]
        at: Timestamp,
        target: Option<String>,
    },
}

impl Change {
    /// The target this entry pointed the link to, if it did: what "restore" brings back.
    pub fn target_set(&self) -> Option<&str> {
        match self {
            Change::Created { target, .. } | Change::Target { new: target, .. } => Some(target),
            _ => None,
        }
    }
}

/// An entry of a link's history: append-only, numbered from 1 per link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub seq: i64,
    pub at: Timestamp,
    pub actor: String,
    pub interface: Interface,
    #[serde(flatten)]
    pub change: Change,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    #[serde(skip)]
    pub id: LinkId,
    pub slug: Slug,
    pub target: TargetUrl,
    pub title: String,
    pub notes: String,
    /// The user who owns it (R-LNK-1); `None` for links made without one (CLI, import, a
    /// token of no user).
    pub owner: Option<String>,
    pub tags: Vec<Tag>,
    pub status: LinkStatus,
    pub locked: bool,
    pub redirect_status: RedirectStatus,
    pub forward_query: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Earlier slugs of this link, which keep redirecting (R-FWD-6).
    pub aliases: Vec<Slug>,
    /// Pending entries, oldest first.
    pub schedule: Vec<ScheduleEntry>,
}

/// Where a link sends visitors at one instant, after its schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkState<'a> {
    pub target: &'a TargetUrl,
    pub status: LinkStatus,
}

impl Link {
    /// Evaluates the schedule at `at`: entries at or before `at` apply in order.
    pub fn state_at(&self, at: Timestamp) -> LinkState<'_> {
        let (target, status) = state_at(
            &self.target,
            self.status,
            self.schedule.iter().map(|e| (e.at, &e.action)),
            at,
            |target| target,
        );
        LinkState { target, status }
    }
}

/// The one schedule evaluation, shared by stored links and the in-memory redirect table.
/// `schedule` is ordered by time; `view` turns a scheduled target into the caller's form of
/// a target (the table keeps its targets as text).
pub(crate) fn state_at<'a, T: ?Sized>(
    target: &'a T,
    status: LinkStatus,
    schedule: impl Iterator<Item = (Timestamp, &'a ScheduledAction)>,
    at: Timestamp,
    view: impl Fn(&'a TargetUrl) -> &'a T,
) -> (&'a T, LinkStatus) {
    let (mut target, mut status) = (target, status);
    for (_, action) in schedule.take_while(|(entry_at, _)| *entry_at <= at) {
        match action {
            ScheduledAction::Target { target: scheduled } => target = view(scheduled),
            ScheduledAction::Retire => status = LinkStatus::Retired,
        }
    }
    (target, status)
}

/// A link to be created. Fields are already validated by their types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    /// `None` generates a random slug.
    pub slug: Option<Slug>,
    pub target: TargetUrl,
    pub title: String,
    pub notes: String,
    pub tags: Vec<Tag>,
    pub redirect_status: RedirectStatus,
    pub forward_query: bool,
    pub owner: Option<String>,
}

impl NewLink {
    pub fn new(slug: Option<Slug>, target: TargetUrl) -> Self {
        NewLink {
            slug,
            target,
            title: String::new(),
            notes: String::new(),
            tags: Vec::new(),
            redirect_status: RedirectStatus::default(),
            forward_query: false,
            owner: None,
        }
    }
}

/// A change to a link's descriptive settings; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkDetails {
    pub title: Option<String>,
    pub notes: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub redirect_status: Option<RedirectStatus>,
    pub forward_query: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_may_not_reorder_itself_and_a_link_has_at_most_50_tags() {
        let spoof = "invoice \u{202E}fdp.exe";
        let refused = parse_text("title", spoof, 200, false).unwrap_err();
        assert_eq!((refused.field, refused.rule), ("title", "bidi_control"));
        assert!(refused.message.contains("U+202E"), "{}", refused.message);
        assert!(parse_text("notes", "\u{2067}x\u{2069}", 200, true).is_err());
        assert_eq!(
            parse_text("title", "مرحبا hello", 200, false).unwrap(),
            "مرحبا hello",
            "right-to-left text itself is fine"
        );

        let fifty: Vec<String> = (0..MAX_TAGS).map(|i| format!("t{i}")).collect();
        assert_eq!(Tag::parse_all(&fifty).unwrap().len(), MAX_TAGS);
        let many: Vec<String> = (0..10_000).map(|i| format!("t{i}")).collect();
        let refused = Tag::parse_all(&many).unwrap_err();
        assert_eq!((refused.field, refused.rule), ("tags", "too_many"));
        let repeated = vec!["same"; 4 * MAX_TAGS];
        assert_eq!(
            Tag::parse_all(&repeated).unwrap().len(),
            1,
            "duplicates count once"
        );
        assert!(
            Tag::parse_all(vec!["same"; 10_000]).is_err(),
            "but not without end"
        );
    }
}
