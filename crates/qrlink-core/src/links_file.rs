//! Links as code (R-IO-2): a TOML file describes links, [`plan`] compares it with the
//! database, and the plan's edits are applied in one transaction by [`Store::apply_edits`],
//! the same path every other front end takes. The format is documented in
//! `docs/LINKS-AS-CODE.md`.
//!
//! The file describes each of its links entirely: a field it leaves out takes its default
//! (no title, no tags, not locked…). Links it does not name are left alone, unless they carry
//! a tag the file owns (`owns_tags`): those are retired. Schedules are compared as they stand
//! at the time of planning: an entry whose time has passed is in force, so after a scheduled
//! switch the file and the database agree without anyone editing the file.

use std::collections::{BTreeSet, HashSet};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Invalid, Rejection, Result};
use crate::link::{
    Link, LinkDetails, LinkStatus, MAX_NOTES, MAX_SCHEDULE_ENTRIES, MAX_TITLE, NewLink,
    RedirectStatus, ScheduledAction, Tag, parse_text, state_at,
};
use crate::schedule::parse_instant;
use crate::slug::Slug;
use crate::store::{Edit, LinkQuery, Store};
use crate::target::{TargetPolicy, TargetUrl};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    #[serde(default)]
    owns_tags: Vec<String>,
    /// Read one by one into [`FileLink`], so that every bad link is reported, not the first.
    #[serde(default)]
    links: Vec<toml::Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLink {
    slug: String,
    target: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    locked: bool,
    #[serde(default)]
    retired: bool,
    #[serde(default)]
    redirect_status: Option<u16>,
    #[serde(default)]
    forward_query: bool,
    #[serde(default)]
    renamed_from: OneOrMany,
    #[serde(default)]
    schedule: Vec<FileScheduled>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileScheduled {
    /// A string (`"2026-09-15 09:00 Europe/Berlin"`, RFC 3339) or a TOML date-time.
    at: toml::Value,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    retire: bool,
}

/// One link as the file wants it, checked.
#[derive(Debug)]
struct Desired {
    line: u64,
    slug: Slug,
    renamed_from: Vec<Slug>,
    target: TargetUrl,
    status: LinkStatus,
    locked: bool,
    details: LinkDetails,
    schedule: Vec<(Timestamp, ScheduledAction)>,
}

/// A links file, read and checked.
#[derive(Debug)]
pub struct LinksFile {
    owns_tags: Vec<Tag>,
    links: Vec<Desired>,
}

/// What reading a links file needs: the target rules, and the zone of schedule times that
/// name none.
#[derive(Debug, Clone, Copy)]
pub struct FileContext<'a> {
    pub policy: &'a TargetPolicy,
    pub time_zone: &'a TimeZone,
}

impl LinksFile {
    /// Reads a links file; every invalid link is reported with its line, like an import.
    pub fn parse(text: &str, context: &FileContext<'_>) -> Result<LinksFile> {
        let file: FileText = toml::from_str(text).map_err(|error| {
            let line = error.span().map_or(1, |span| line_at(text, span.start));
            let message = error.message().replace(['\n', '\r'], " ");
            Error::Rejected(vec![Rejection {
                line,
                invalid: Invalid::new("file", "toml", message),
            }])
        })?;
        let mut rejections = Vec::new();
        let owns_tags = Tag::parse_all(&file.owns_tags).map_err(|invalid| {
            Error::Rejected(vec![Rejection {
                line: 1,
                invalid: Invalid {
                    field: "owns_tags",
                    ..invalid
                },
            }])
        })?;
        let mut links = Vec::new();
        let mut seen = HashSet::new();
        for link in file.links {
            let line = line_at(text, link.span().start);
            let link = link.into_inner().try_into::<FileLink>().map_err(|error| {
                let message = error.message().replace(['\n', '\r'], " ");
                Invalid::new("link", "toml", message)
            });
            match link.and_then(|link| desired(link, line, context)) {
                Ok(desired) => {
                    let first = desired
                        .renamed_from
                        .iter()
                        .chain([&desired.slug])
                        .find(|slug| !seen.insert((*slug).clone()));
                    if let Some(slug) = first {
                        let message = format!("`{slug}` is named by two links of the file");
                        let invalid = Invalid::new("slug", "duplicate", message);
                        rejections.push(Rejection { line, invalid });
                    } else {
                        links.push(desired);
                    }
                }
                Err(invalid) => rejections.push(Rejection { line, invalid }),
            }
        }
        if !rejections.is_empty() {
            return Err(Error::Rejected(rejections));
        }
        Ok(LinksFile { owns_tags, links })
    }
}

fn line_at(text: &str, offset: usize) -> u64 {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
}

fn desired(link: FileLink, line: u64, context: &FileContext<'_>) -> Result<Desired, Invalid> {
    let renamed_from = match link.renamed_from {
        OneOrMany::None => Vec::new(),
        OneOrMany::One(slug) => vec![slug],
        OneOrMany::Many(slugs) => slugs,
    };
    let tags = Tag::parse_all(&link.tags)?;
    if link.schedule.len() > MAX_SCHEDULE_ENTRIES {
        return Err(Invalid::new(
            "schedule",
            "too_many",
            format!("a link has at most {MAX_SCHEDULE_ENTRIES} schedule entries"),
        ));
    }
    let mut schedule = Vec::new();
    for entry in link.schedule {
        let at = match &entry.at {
            toml::Value::String(text) => parse_instant(text, context.time_zone)?,
            toml::Value::Datetime(datetime) => {
                parse_instant(&datetime.to_string(), context.time_zone)?
            }
            _ => return Err(Invalid::new("schedule", "time", "`at` is a date and time")),
        };
        let action = match (entry.target, entry.retire) {
            (Some(target), false) => ScheduledAction::Target {
                target: TargetUrl::parse(&target, context.policy)?,
            },
            (None, true) => ScheduledAction::Retire,
            _ => {
                return Err(Invalid::new(
                    "schedule",
                    "action",
                    "a schedule entry has either a `target` or `retire = true`",
                ));
            }
        };
        schedule.push((at, action));
    }
    schedule.sort_by_key(|(at, _)| *at);
    Ok(Desired {
        line,
        slug: Slug::parse(&link.slug)?,
        renamed_from: renamed_from
            .iter()
            .map(|slug| {
                Slug::parse(slug).map_err(|invalid| Invalid {
                    field: "renamed_from",
                    ..invalid
                })
            })
            .collect::<Result<_, _>>()?,
        target: TargetUrl::parse(&link.target, context.policy)?,
        status: if link.retired {
            LinkStatus::Retired
        } else {
            LinkStatus::Active
        },
        locked: link.locked,
        details: LinkDetails {
            title: Some(parse_text("title", &link.title, MAX_TITLE, false)?),
            notes: Some(parse_text("notes", &link.notes, MAX_NOTES, true)?),
            tags: Some(tags),
            redirect_status: Some(RedirectStatus::parse(link.redirect_status.unwrap_or(302))?),
            forward_query: Some(link.forward_query),
        },
        schedule,
    })
}

/// What a plan would do to one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    New,
    Repoint,
    Retire,
    Unretire,
    Rename,
    Details,
    Lock,
    Unlock,
    Schedule,
    Unschedule,
}

/// One line of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedChange {
    pub kind: ChangeKind,
    /// The link's slug after the change.
    pub slug: String,
    /// What changes, for people: `old → new`, the fields, the time.
    pub detail: String,
    /// A printed link's target or status would change: `apply` needs `--confirm-locked`.
    pub locked: bool,
}

/// The difference between a links file and the database, and the edits that remove it.
#[derive(Debug)]
pub struct Plan {
    pub changes: Vec<PlannedChange>,
    edits: Vec<Edit>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether applying needs the confirmation that printed links may change.
    pub fn touches_locked(&self) -> bool {
        self.changes.iter().any(|change| change.locked)
    }

    /// Applies the plan in one transaction. A plan that re-points, retires or reschedules a
    /// printed link is refused unless `confirm_locked`.
    pub async fn apply(
        &self,
        store: &Store,
        actor: &crate::link::Actor,
        now: Timestamp,
        reason: &str,
        confirm_locked: bool,
    ) -> Result<()> {
        if self.touches_locked() && !confirm_locked {
            let slugs: BTreeSet<&str> = self
                .changes
                .iter()
                .filter(|change| change.locked)
                .map(|change| change.slug.as_str())
                .collect();
            let slugs: Vec<&str> = slugs.into_iter().collect();
            return Err(Error::invalid(
                "confirm_locked",
                "required",
                format!(
                    "the file changes where printed (locked) links point: {}; confirm with --confirm-locked",
                    slugs.join(", ")
                ),
            ));
        }
        store
            .apply_edits(&self.edits, actor, now, Some(reason))
            .await
    }
}

/// Compares the file with the database at `now`.
pub async fn plan(store: &Store, file: &LinksFile, now: Timestamp) -> Result<Plan> {
    let mut plan = Plan {
        changes: Vec::new(),
        edits: Vec::new(),
    };
    let mut named: HashSet<crate::link::LinkId> = HashSet::new();
    for desired in &file.links {
        let existing = match find(store, &desired.slug).await? {
            Some(link) if link.slug != desired.slug => {
                let message = format!(
                    "`{}` is an old slug of `{}`, and a slug is never freed: name the link `{}`, or rename it with `renamed_from`",
                    desired.slug, link.slug, link.slug
                );
                return Err(rejected(
                    desired.line,
                    Invalid::new("slug", "alias", message),
                ));
            }
            Some(link) => Some(link),
            None => {
                let mut renamed = None;
                for old in &desired.renamed_from {
                    if let Some(link) = find(store, old).await? {
                        renamed = Some(link);
                        break;
                    }
                }
                renamed
            }
        };
        match existing {
            Some(link) => {
                named.insert(link.id);
                plan_existing(&mut plan, &link, desired, now);
            }
            None => plan_new(&mut plan, desired),
        }
    }
    for tag in &file.owns_tags {
        let mut after = None;
        loop {
            let page = store
                .list_links(&LinkQuery {
                    tag: Some(tag.clone()),
                    status: Some(LinkStatus::Active),
                    after: after.clone(),
                    limit: 500,
                    ..LinkQuery::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.slug.clone());
            for link in page.iter().filter(|link| named.insert(link.id)) {
                plan.push(
                    ChangeKind::Retire,
                    &link.slug,
                    format!("not in the file, which owns the tag `{}`", tag.as_str()),
                    link.locked,
                    Edit::Retire {
                        slug: link.slug.clone(),
                        at: None,
                        confirm: true,
                    },
                );
            }
        }
    }
    Ok(plan)
}

fn rejected(line: u64, invalid: Invalid) -> Error {
    Error::Rejected(vec![Rejection { line, invalid }])
}

async fn find(store: &Store, slug: &Slug) -> Result<Option<Link>> {
    match store.link(slug).await {
        Ok(link) => Ok(Some(link)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

impl Plan {
    fn push(&mut self, kind: ChangeKind, slug: &Slug, detail: String, locked: bool, edit: Edit) {
        self.changes.push(PlannedChange {
            kind,
            slug: slug.to_string(),
            detail,
            locked,
        });
        self.edits.push(edit);
    }
}

fn plan_new(plan: &mut Plan, desired: &Desired) {
    let details = &desired.details;
    let new = NewLink {
        slug: Some(desired.slug.clone()),
        target: desired.target.clone(),
        title: details.title.clone().unwrap_or_default(),
        notes: details.notes.clone().unwrap_or_default(),
        tags: details.tags.clone().unwrap_or_default(),
        redirect_status: details.redirect_status.unwrap_or_default(),
        forward_query: details.forward_query.unwrap_or_default(),
        owner: None,
    };
    plan.push(
        ChangeKind::New,
        &desired.slug,
        format!("→ {}", desired.target),
        false,
        Edit::Create(new),
    );
    let slug = &desired.slug;
    for (at, action) in &desired.schedule {
        plan.push_schedule(slug, *at, action, false);
    }
    if desired.status == LinkStatus::Retired {
        let edit = Edit::Retire {
            slug: slug.clone(),
            at: None,
            confirm: true,
        };
        plan.push(ChangeKind::Retire, slug, String::new(), false, edit);
    }
    if desired.locked {
        let edit = Edit::Lock {
            slug: slug.clone(),
            locked: true,
        };
        plan.push(ChangeKind::Lock, slug, String::new(), false, edit);
    }
}

/// The edits that make `link` what `desired` describes. An unlock comes first and a lock
/// last, and every change to a printed link is flagged by the lock it has now, so a file
/// cannot re-point a printed link unconfirmed by unlocking it on the way.
fn plan_existing(plan: &mut Plan, link: &Link, desired: &Desired, now: Timestamp) {
    let slug = &desired.slug;
    let printed = link.locked;
    if link.locked && !desired.locked {
        let edit = Edit::Lock {
            slug: link.slug.clone(),
            locked: false,
        };
        plan.push(ChangeKind::Unlock, &link.slug, String::new(), false, edit);
    }
    if link.slug != *slug {
        let edit = Edit::Rename {
            old: link.slug.clone(),
            new: slug.clone(),
        };
        plan.push(
            ChangeKind::Rename,
            slug,
            format!("from `{}`", link.slug),
            printed,
            edit,
        );
    }

    // Both sides as they stand now: what is in force, and what is still pending.
    let actual = link.state_at(now);
    let (want_target, want_status) = state_at(
        &desired.target,
        desired.status,
        desired.schedule.iter().map(|(at, action)| (*at, action)),
        now,
        |target| target,
    );
    if actual.target != want_target {
        let detail = format!("{} → {}", actual.target, want_target);
        let edit = Edit::SetTarget {
            slug: slug.clone(),
            target: want_target.clone(),
            at: None,
            confirm: true,
        };
        plan.push(ChangeKind::Repoint, slug, detail, printed, edit);
    }
    // Compared as sets, so that planning stays linear in the number of entries.
    let pending_actual: Vec<_> = link
        .schedule
        .iter()
        .filter(|entry| entry.at > now)
        .collect();
    let pending_wanted: Vec<_> = desired
        .schedule
        .iter()
        .filter(|(at, _)| *at > now)
        .collect();
    let actual_set: std::collections::HashSet<(Timestamp, &ScheduledAction)> = pending_actual
        .iter()
        .map(|entry| (entry.at, &entry.action))
        .collect();
    let wanted_set: std::collections::HashSet<(Timestamp, &ScheduledAction)> = pending_wanted
        .iter()
        .map(|(at, action)| (*at, action))
        .collect();
    for entry in &pending_actual {
        if !wanted_set.contains(&(entry.at, &entry.action)) {
            let edit = Edit::Unschedule {
                slug: slug.clone(),
                entry_id: entry.id,
            };
            plan.push(
                ChangeKind::Unschedule,
                slug,
                scheduled(entry.at, &entry.action),
                printed,
                edit,
            );
        }
    }
    for (at, action) in &pending_wanted {
        if !actual_set.contains(&(*at, action)) {
            plan.push_schedule(slug, *at, action, printed);
        }
    }
    match (actual.status, want_status) {
        (LinkStatus::Active, LinkStatus::Retired) => {
            let edit = Edit::Retire {
                slug: slug.clone(),
                at: None,
                confirm: true,
            };
            plan.push(ChangeKind::Retire, slug, String::new(), printed, edit);
        }
        (LinkStatus::Retired, LinkStatus::Active) => {
            let edit = Edit::Unretire { slug: slug.clone() };
            plan.push(ChangeKind::Unretire, slug, String::new(), printed, edit);
        }
        _ => {}
    }

    let wanted = &desired.details;
    let mut fields = Vec::new();
    if wanted.title.as_ref() != Some(&link.title) {
        fields.push("title");
    }
    if wanted.notes.as_ref() != Some(&link.notes) {
        fields.push("notes");
    }
    if wanted.tags.as_ref() != Some(&link.tags) {
        fields.push("tags");
    }
    if wanted.redirect_status != Some(link.redirect_status) {
        fields.push("redirect_status");
    }
    if wanted.forward_query != Some(link.forward_query) {
        fields.push("forward_query");
    }
    if !fields.is_empty() {
        let edit = Edit::Details {
            slug: slug.clone(),
            details: wanted.clone(),
        };
        plan.push(ChangeKind::Details, slug, fields.join(", "), false, edit);
    }
    if !link.locked && desired.locked {
        let edit = Edit::Lock {
            slug: slug.clone(),
            locked: true,
        };
        plan.push(ChangeKind::Lock, slug, String::new(), false, edit);
    }
}

impl Plan {
    /// A pending entry to add: a future re-point, or a future retirement.
    fn push_schedule(
        &mut self,
        slug: &Slug,
        at: Timestamp,
        action: &ScheduledAction,
        printed: bool,
    ) {
        let edit = match action {
            ScheduledAction::Target { target } => Edit::SetTarget {
                slug: slug.clone(),
                target: target.clone(),
                at: Some(at),
                confirm: true,
            },
            ScheduledAction::Retire => Edit::Retire {
                slug: slug.clone(),
                at: Some(at),
                confirm: true,
            },
        };
        self.push(
            ChangeKind::Schedule,
            slug,
            scheduled(at, action),
            printed,
            edit,
        );
    }
}

fn scheduled(at: Timestamp, action: &ScheduledAction) -> String {
    match action {
        ScheduledAction::Target { target } => format!("at {at}: → {target}"),
        ScheduledAction::Retire => format!("at {at}: retire"),
    }
}
