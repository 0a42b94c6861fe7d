//! qrlink's JSON: one object per link, one link per line, so files diff well and a rejected
//! record is reported by its line.
//!
//! ```text
//! {"format":"qrlink-links","version":1,"links":[
//! {"slug":"talk","target":"https://example.org/","title":"",…,"history":[…]},
//! …
//! ]}
//! ```

use std::io::Write;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{Fields, ImportContext, ImportRow, LinkRecord, Parsed, Source, printable};
use crate::error::{Invalid, Rejection, Result};
use crate::link::{
    HistoryEntry, LinkStatus, MAX_REASON, ScheduleEntry, ScheduledAction, parse_text,
};
use crate::slug::Slug;
use crate::store::Store;
use crate::target::TargetUrl;

const FORMAT: &str = "qrlink-links";
const VERSION: u32 = 1;

/// Longest actor name accepted in an imported history or schedule.
const MAX_ACTOR: usize = 200;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLink {
    slug: String,
    target: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    notes: String,
    /// The user who owns the link; absent for a link without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default = "active")]
    status: LinkStatus,
    #[serde(default)]
    locked: bool,
    #[serde(default = "found")]
    redirect_status: u16,
    #[serde(default)]
    forward_query: bool,
    #[serde(default)]
    created_at: Option<Timestamp>,
    #[serde(default)]
    updated_at: Option<Timestamp>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    schedule: Vec<JsonScheduled>,
    /// Empty in a hand-written file: the import then records the creation itself.
    #[serde(default)]
    history: Vec<HistoryEntry>,
}

fn active() -> LinkStatus {
    LinkStatus::Active
}

fn found() -> u16 {
    302
}

/// A pending schedule entry: `action` is `target` (with `target`) or `retire`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonScheduled {
    at: Timestamp,
    action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    created_at: Timestamp,
    actor: String,
}

impl From<LinkRecord> for JsonLink {
    fn from(record: LinkRecord) -> JsonLink {
        let link = record.link;
        JsonLink {
            slug: link.slug.to_string(),
            target: link.target.to_string(),
            title: link.title,
            notes: link.notes,
            owner: link.owner,
            tags: link
                .tags
                .iter()
                .map(|tag| tag.as_str().to_owned())
                .collect(),
            status: link.status,
            locked: link.locked,
            redirect_status: link.redirect_status.code(),
            forward_query: link.forward_query,
            created_at: Some(link.created_at),
            updated_at: Some(link.updated_at),
            aliases: link.aliases.iter().map(ToString::to_string).collect(),
            schedule: link
                .schedule
                .into_iter()
                .map(|entry| {
                    let (action, target) = match entry.action {
                        ScheduledAction::Target { target } => ("target", Some(target.to_string())),
                        ScheduledAction::Retire => ("retire", None),
                    };
                    JsonScheduled {
                        at: entry.at,
                        action: action.to_owned(),
                        target,
                        created_at: entry.created_at,
                        actor: entry.actor,
                    }
                })
                .collect(),
            history: record.history,
        }
    }
}

pub(super) async fn export(store: &Store, out: &mut (dyn Write + Send)) -> Result<u64> {
    write!(
        out,
        "{{\"format\":\"{FORMAT}\",\"version\":{VERSION},\"links\":["
    )?;
    let mut separator = "\n";
    let exported = store
        .export_links(&mut |record| {
            out.write_all(separator.as_bytes())?;
            serde_json::to_writer(&mut *out, &JsonLink::from(record))
                .map_err(std::io::Error::from)?;
            separator = ",\n";
            Ok(())
        })
        .await?;
    out.write_all(b"\n]}\n")?;
    out.flush()?;
    Ok(exported)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document<'a> {
    format: String,
    version: u32,
    #[serde(borrow)]
    links: Vec<&'a RawValue>,
}

pub(super) fn parse(file: &[u8], context: &ImportContext<'_>) -> (Parsed, Vec<Rejection>) {
    let mut parsed = Parsed {
        source: Source::QrlinkJson,
        rows: Vec::new(),
    };
    let whole_file = |line: u64, rule: &'static str, message: String| {
        vec![Rejection {
            line,
            invalid: Invalid::new("file", rule, message),
        }]
    };
    let text = match std::str::from_utf8(file) {
        Ok(text) => text,
        Err(error) => {
            let line = line_at(file, error.valid_up_to());
            return (
                parsed,
                whole_file(line, "utf8", "the file is not valid UTF-8".into()),
            );
        }
    };
    let document: Document<'_> = match serde_json::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            let message = format!(
                "not a qrlink JSON export: {}",
                printable(&error.to_string())
            );
            return (parsed, whole_file(error.line() as u64, "json", message));
        }
    };
    if document.format != FORMAT || document.version != VERSION {
        let message = format!(
            "the file is `{}` version {}; this qrlink reads `{FORMAT}` version {VERSION}",
            printable(&document.format),
            document.version
        );
        return (parsed, whole_file(1, "format", message));
    }
    let mut rejections = Vec::new();
    let (mut offset, mut line) = (0, 1);
    for raw in document.links {
        // Each raw value borrows from `text`, so its address gives its line.
        let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
        line += text.as_bytes()[offset..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        offset = start;
        let outcome = serde_json::from_str::<JsonLink>(raw.get())
            .map_err(|error| {
                Invalid::new(
                    "link",
                    "json",
                    format!("not a qrlink link: {}", printable(&error.to_string())),
                )
            })
            .and_then(|link| record(link, context));
        match outcome {
            Ok(record) => parsed.rows.push(ImportRow { line, record }),
            Err(invalid) => rejections.push(Rejection { line, invalid }),
        }
    }
    (parsed, rejections)
}

fn line_at(file: &[u8], offset: usize) -> u64 {
    1 + file[..offset].iter().filter(|b| **b == b'\n').count() as u64
}

/// Checks a link of the file by the rules of every front end. Its history, if it has one, is
/// kept verbatim (old targets were valid when set), but must be numbered from 1 without gaps.
fn record(json: JsonLink, context: &ImportContext<'_>) -> Result<LinkRecord, Invalid> {
    let tags: Vec<&str> = json.tags.iter().map(String::as_str).collect();
    let fields = Fields {
        slug: &json.slug,
        target: &json.target,
        title: &json.title,
        notes: &json.notes,
        tags,
        status: Some(json.status),
        locked: json.locked,
        redirect_status: Some(json.redirect_status),
        forward_query: json.forward_query,
    };
    let mut record = fields.into_record(context, "imported from a qrlink JSON file")?;
    let link = &mut record.link;
    if let Some(created_at) = json.created_at {
        link.created_at = created_at;
        link.updated_at = created_at;
    }
    if let Some(owner) = &json.owner {
        let owner = crate::accounts::parse_user_name(owner).map_err(|invalid| Invalid {
            field: "owner",
            ..invalid
        })?;
        link.owner = Some(owner);
    }
    if let Some(updated_at) = json.updated_at {
        link.updated_at = updated_at;
    }
    for alias in &json.aliases {
        let alias = Slug::parse(alias).map_err(|invalid| Invalid {
            field: "aliases",
            ..invalid
        })?;
        link.aliases.push(alias);
    }
    link.aliases.sort();
    for entry in json.schedule {
        let action = match (entry.action.as_str(), entry.target) {
            ("target", Some(target)) => ScheduledAction::Target {
                target: TargetUrl::parse(&target, context.policy).map_err(|invalid| Invalid {
                    field: "schedule",
                    ..invalid
                })?,
            },
            ("retire", None) => ScheduledAction::Retire,
            _ => {
                return Err(Invalid::new(
                    "schedule",
                    "action",
                    "a schedule entry has `\"action\": \"target\"` with a `target`, or `\"action\": \"retire\"` without",
                ));
            }
        };
        link.schedule.push(ScheduleEntry {
            id: 0,
            at: entry.at,
            action,
            created_at: entry.created_at,
            actor: parse_text("schedule", &entry.actor, MAX_ACTOR, false)?,
        });
    }
    link.schedule.sort_by_key(|entry| entry.at);
    if !json.history.is_empty() {
        for (entry, seq) in json.history.iter().zip(1..) {
            if entry.seq != seq {
                return Err(Invalid::new(
                    "history",
                    "numbered",
                    format!(
                        "history entries are numbered 1, 2, 3…; entry {seq} has number {}",
                        entry.seq
                    ),
                ));
            }
            parse_text("history", &entry.actor, MAX_ACTOR, false)?;
            if let Some(reason) = &entry.reason {
                parse_text("history", reason, MAX_REASON, false)?;
            }
        }
        record.history = json.history;
    }
    Ok(record)
}
