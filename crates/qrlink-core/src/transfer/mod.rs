//! Links in and out of qrlink (R-IO-1): its own JSON, which carries everything, history
//! included, so a round trip is exact; its own CSV, the columns people edit in a spreadsheet;
//! and the CSV exports of other shorteners. An import is all or nothing: every record is
//! checked first, and any rejection (with its line and reason) stores nothing.

mod csv;
pub mod fallback;
mod json;

use std::collections::HashMap;
use std::io::Write;

use jiff::Timestamp;

use crate::error::{Error, Invalid, Rejection, Result};
use crate::link::{Actor, Change, HistoryEntry, Link, LinkId, LinkStatus, RedirectStatus, Tag};
use crate::slug::Slug;
use crate::store::Store;
use crate::target::{TargetPolicy, TargetUrl};

/// A link with everything it carries, as exported and imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecord {
    /// The link; its `id` is ignored by an import, and its schedule entries' ids too.
    pub link: Link,
    /// The full history, numbered from 1.
    pub history: Vec<HistoryEntry>,
}

impl LinkRecord {
    /// The current slug, then the aliases: every slug this record takes.
    pub fn slugs(&self) -> impl Iterator<Item = &Slug> {
        std::iter::once(&self.link.slug).chain(&self.link.aliases)
    }
}

/// A checked record of an import file, and the line where it starts.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub line: u64,
    pub record: LinkRecord,
}

/// The formats of `qrlink export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Every field, aliases, schedule and history; what `import` restores exactly.
    Json,
    /// `slug,target,title,tags,status,locked`, one link per row.
    Csv,
}

/// Which kind of file an import read, recognised from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    QrlinkJson,
    QrlinkCsv,
    Shlink,
    Yourls,
    Kutt,
    Bitly,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::QrlinkJson => "qrlink JSON",
            Source::QrlinkCsv => "qrlink CSV",
            Source::Shlink => "Shlink CSV",
            Source::Yourls => "YOURLS CSV",
            Source::Kutt => "Kutt CSV",
            Source::Bitly => "Bitly CSV",
        }
    }
}

/// What an import needs besides the file: the target rules of the instance, and who imports
/// when (history records both for links that arrive without history).
#[derive(Debug, Clone, Copy)]
pub struct ImportContext<'a> {
    pub policy: &'a TargetPolicy,
    pub actor: &'a Actor,
    pub now: Timestamp,
}

/// A file read into records, before anything is stored.
#[derive(Debug)]
pub struct Parsed {
    pub source: Source,
    pub rows: Vec<ImportRow>,
}

/// Writes every link to `out` in `format`; returns how many.
pub async fn export(
    store: &Store,
    format: ExportFormat,
    out: &mut (dyn Write + Send),
) -> Result<u64> {
    match format {
        ExportFormat::Json => json::export(store, out).await,
        ExportFormat::Csv => csv::export(store, out).await,
    }
}

/// Reads `file` (qrlink JSON if it starts with `{`, otherwise CSV recognised by its header)
/// and checks every record, including that no slug appears twice. Stores nothing.
pub fn parse(file: &[u8], context: &ImportContext<'_>) -> Result<Parsed> {
    let start = file.iter().position(|b| !b.is_ascii_whitespace());
    let (parsed, mut rejections) = if start.is_some_and(|at| file[at] == b'{') {
        json::parse(file, context)
    } else {
        csv::parse(file, context)
    };
    reject_duplicates(&parsed.rows, &mut rejections);
    if rejections.is_empty() {
        Ok(parsed)
    } else {
        rejections.sort_by_key(|rejection| rejection.line);
        Err(Error::Rejected(rejections))
    }
}

/// Parses `file` and stores every link in it, or none. Returns what was read and stored.
pub async fn import(store: &Store, file: &[u8], context: &ImportContext<'_>) -> Result<Parsed> {
    let parsed = parse(file, context)?;
    store.import_links(&parsed.rows).await?;
    Ok(parsed)
}

/// A slug may appear once in a file, as a link's slug or an alias.
fn reject_duplicates(rows: &[ImportRow], rejections: &mut Vec<Rejection>) {
    let mut first: HashMap<&str, u64> = HashMap::with_capacity(rows.len());
    for row in rows {
        for slug in row.record.slugs() {
            if let Some(&line) = first.get(slug.as_str()) {
                let field = if *slug == row.record.link.slug {
                    "slug"
                } else {
                    "aliases"
                };
                let message =
                    format!("the slug `{slug}` appears twice in the file (first on line {line})");
                rejections.push(Rejection {
                    line: row.line,
                    invalid: Invalid::new(field, "duplicate", message),
                });
                break;
            }
            first.insert(slug.as_str(), row.line);
        }
    }
}

/// The fields of a link that every import format may give; the rest take their defaults.
#[derive(Debug, Default)]
struct Fields<'a> {
    slug: &'a str,
    target: &'a str,
    title: &'a str,
    notes: &'a str,
    tags: Vec<&'a str>,
    status: Option<LinkStatus>,
    locked: bool,
    redirect_status: Option<u16>,
    forward_query: bool,
}

impl Fields<'_> {
    /// A new link checked by the same rules as every other front end, created now by the
    /// importing actor. History records its creation, with `reason` naming the source, and
    /// its retirement and lock if the file gives them.
    fn into_record(self, context: &ImportContext<'_>, reason: &str) -> Result<LinkRecord, Invalid> {
        let link = Link {
            id: LinkId(0),
            slug: Slug::parse(self.slug)?,
            target: TargetUrl::parse(self.target, context.policy)?,
            title: crate::link::parse_text("title", self.title, crate::link::MAX_TITLE, false)?,
            notes: crate::link::parse_text("notes", self.notes, crate::link::MAX_NOTES, true)?,
            owner: None,
            // A CSV cell may leave empty places between separators (`a;;b`).
            tags: Tag::parse_all(self.tags.iter().filter(|tag| !tag.trim().is_empty()))?,
            status: self.status.unwrap_or(LinkStatus::Active),
            locked: self.locked,
            redirect_status: RedirectStatus::parse(self.redirect_status.unwrap_or(302))?,
            forward_query: self.forward_query,
            created_at: context.now,
            updated_at: context.now,
            aliases: Vec::new(),
            schedule: Vec::new(),
        };
        let history = new_history(&link, context, reason);
        Ok(LinkRecord { link, history })
    }
}

/// The history of a link that arrives without one: created now, then retired and locked as
/// the file says, all by the importing actor.
fn new_history(link: &Link, context: &ImportContext<'_>, reason: &str) -> Vec<HistoryEntry> {
    let mut changes = vec![Change::Created {
        slug: link.slug.to_string(),
        target: link.target.to_string(),
    }];
    if link.status == LinkStatus::Retired {
        changes.push(Change::Status {
            old: LinkStatus::Active,
            new: LinkStatus::Retired,
        });
    }
    if link.locked {
        changes.push(Change::Lock { locked: true });
    }
    changes
        .into_iter()
        .zip(1..)
        .map(|(change, seq)| HistoryEntry {
            seq,
            at: context.now,
            actor: context.actor.name.clone(),
            interface: context.actor.interface,
            change,
            reason: Some(reason.to_owned()),
        })
        .collect()
}

/// Text from a parser's error message, with control characters escaped so that a message
/// quoting the input cannot break a terminal or a log line.
fn printable(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
