//! `qrlink link …`: each command parses its input into core types, calls one store
//! operation, and prints the result as text or JSON.

use anyhow::Context;
use jiff::Timestamp;
use qrlink_core::accounts::parse_user_name;
use qrlink_core::clock::Clock;
use qrlink_core::link::{
    Actor, Change, HistoryEntry, Interface, Link, LinkDetails, LinkStatus, MAX_NOTES, MAX_REASON,
    MAX_TITLE, NewLink, RedirectStatus, ScheduleEntry, ScheduledAction, Tag, parse_text,
};
use qrlink_core::schedule::parse_instant;
use qrlink_core::slug::Slug;
use qrlink_core::store::{LinkOrder, LinkQuery, Store, TargetChange};
use qrlink_core::target::TargetUrl;

use crate::cli::LinkCommand;
use crate::instance::Instance;

pub async fn run(
    command: LinkCommand,
    instance: &Instance,
    store: &Store,
    clock: &Clock,
) -> anyhow::Result<()> {
    let actor = Actor::new(os_user(), Interface::Cli);
    let now = clock.now();
    let show = |link: &Link| print_link(link, instance);
    match command {
        LinkCommand::Add {
            args,
            generate,
            title,
            note,
            tags,
            redirect_status,
            forward_query,
            json,
        } => {
            let (slug, target) = match (generate, args.as_slice()) {
                (true, [target]) => (None, target),
                (false, [slug, target]) => (Some(Slug::parse(slug)?), target),
                (true, _) => anyhow::bail!("with --generate, give only the TARGET"),
                (false, _) => anyhow::bail!("give a SLUG and a TARGET, or --generate and a TARGET"),
            };
            let mut new = NewLink::new(slug, TargetUrl::parse(target, &instance.policy)?);
            new.title = parse_text(
                "title",
                title.as_deref().unwrap_or_default(),
                MAX_TITLE,
                false,
            )?;
            new.notes = parse_text(
                "notes",
                note.as_deref().unwrap_or_default(),
                MAX_NOTES,
                true,
            )?;
            new.tags = Tag::parse_all(&tags)?;
            new.redirect_status = redirect_status
                .map(RedirectStatus::parse)
                .transpose()?
                .unwrap_or_default();
            new.forward_query = forward_query;
            let link = store.create_link(&new, &actor, now).await?;
            if json {
                print_json(&link)?
            } else {
                show(&link)
            }
        }
        LinkCommand::List {
            search,
            tag,
            status,
            owner,
            order,
            after,
            limit,
            json,
        } => {
            let query = LinkQuery {
                search,
                tag: tag.as_deref().map(Tag::parse).transpose()?,
                status: status.map(|s| {
                    if s == "retired" {
                        LinkStatus::Retired
                    } else {
                        LinkStatus::Active
                    }
                }),
                after: after.as_deref().map(Slug::parse).transpose()?,
                order: if order == "changed" {
                    LinkOrder::Changed
                } else {
                    LinkOrder::Slug
                },
                owner: owner
                    .as_deref()
                    .map(|owner| parse_user_name(owner).map_err(|invalid| invalid.on("owner")))
                    .transpose()?,
                limit,
            };
            let page = store.list_page(&query).await?;
            let links = page.links;
            if json {
                print_json(&links)?;
            } else {
                for link in &links {
                    let status = if link.status == LinkStatus::Retired {
                        " (retired)"
                    } else {
                        ""
                    };
                    println!(
                        "{}\t{}{status}",
                        link.slug,
                        link.target.to_unicode_display()
                    );
                }
                if let Some(next) = page.next_after {
                    eprintln!("(there are more: add --after {next})");
                }
            }
        }
        LinkCommand::Show { slug, at, json } => {
            let link = store.link(&Slug::parse(&slug)?).await?;
            match at {
                Some(at) => {
                    let at = parse_instant(&at, &instance.time_zone)?;
                    let state = link.state_at(at);
                    if json {
                        print_json(&serde_json::json!({
                            "slug": link.slug, "at": at, "target": state.target, "status": state.status,
                        }))?;
                    } else {
                        let when = display_time(at, instance);
                        match state.status {
                            LinkStatus::Active => {
                                println!("at {when}, {} goes to {}", link.slug, state.target)
                            }
                            LinkStatus::Retired => {
                                println!("at {when}, {} is retired (410)", link.slug)
                            }
                        }
                    }
                }
                None if json => print_json(&link)?,
                None => show(&link),
            }
        }
        LinkCommand::SetTarget {
            slug,
            target,
            at,
            reason,
            confirm,
        } => {
            let slug = Slug::parse(&slug)?;
            let target = TargetUrl::parse(&target, &instance.policy)?;
            let at = at
                .as_deref()
                .map(|at| parse_instant(at, &instance.time_zone))
                .transpose()?;
            let reason = reason
                .as_deref()
                .map(|r| parse_text("reason", r, MAX_REASON, false))
                .transpose()?;
            let change = TargetChange {
                slug: &slug,
                target: &target,
                at,
                reason: reason.as_deref(),
                confirm,
            };
            show(&store.set_target(change, &actor, now).await?);
        }
        LinkCommand::Set {
            slug,
            title,
            note,
            tags,
            redirect_status,
            forward_query,
        } => {
            let details = LinkDetails {
                title: title
                    .map(|t| parse_text("title", &t, MAX_TITLE, false))
                    .transpose()?,
                notes: note
                    .map(|n| parse_text("notes", &n, MAX_NOTES, true))
                    .transpose()?,
                tags: if tags.is_empty() {
                    None
                } else {
                    Some(Tag::parse_all(&tags)?)
                },
                redirect_status: redirect_status.map(RedirectStatus::parse).transpose()?,
                forward_query,
            };
            show(
                &store
                    .update_details(&Slug::parse(&slug)?, &details, &actor, now)
                    .await?,
            );
        }
        LinkCommand::Retire { slug, at, confirm } => {
            let at = at
                .as_deref()
                .map(|at| parse_instant(at, &instance.time_zone))
                .transpose()?;
            show(
                &store
                    .retire(&Slug::parse(&slug)?, at, confirm, &actor, now)
                    .await?,
            );
        }
        LinkCommand::Unretire { slug } => {
            show(&store.unretire(&Slug::parse(&slug)?, &actor, now).await?)
        }
        LinkCommand::Lock { slug } => show(
            &store
                .set_locked(&Slug::parse(&slug)?, true, &actor, now)
                .await?,
        ),
        LinkCommand::Unlock { slug } => show(
            &store
                .set_locked(&Slug::parse(&slug)?, false, &actor, now)
                .await?,
        ),
        LinkCommand::Rename { old, new } => {
            show(
                &store
                    .rename(&Slug::parse(&old)?, &Slug::parse(&new)?, &actor, now)
                    .await?,
            );
        }
        LinkCommand::History { slug, json } => {
            let history = store.history(&Slug::parse(&slug)?).await?;
            if json {
                print_json(&history)?;
            } else {
                for entry in &history {
                    println!("{}", describe_history(entry, instance));
                }
            }
        }
        LinkCommand::Restore {
            slug,
            entry,
            confirm,
        } => {
            show(
                &store
                    .restore(
                        &Slug::parse(&slug)?,
                        entry,
                        &instance.policy,
                        confirm,
                        &actor,
                        now,
                    )
                    .await?,
            );
        }
        LinkCommand::Schedule { slug, json } => {
            let link = store.link(&Slug::parse(&slug)?).await?;
            if json {
                print_json(&link.schedule)?;
            } else if link.schedule.is_empty() {
                println!("{} has no pending changes", link.slug);
            } else {
                for entry in &link.schedule {
                    println!("{}", describe_schedule(entry, instance));
                }
            }
        }
        LinkCommand::Qr {
            slug,
            url_caption,
            mut render,
        } => {
            let link = store.link(&Slug::parse(&slug)?).await?;
            if url_caption {
                render.caption = Some(readable_url(&instance.base().link_url(&link.slug)));
            }
            if link.state_at(now).status == LinkStatus::Retired {
                eprintln!(
                    "warning: {} is retired; its code answers 410 until it is unretired",
                    link.slug
                );
            }
            crate::qr_cmd::render(&instance.link_payload(&link.slug), &render)?;
        }
        LinkCommand::Unschedule { slug, entry } => {
            show(
                &store
                    .unschedule(&Slug::parse(&slug)?, entry, &actor, now)
                    .await?,
            );
        }
    }
    Ok(())
}

/// A short URL as people read it on a caption: without `https://`.
pub(crate) fn readable_url(url: &str) -> String {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .to_owned()
}

/// Who runs the command, for history. The CLI acts with the rights of whoever can open the
/// database, so the operating-system user is the honest name.
pub(crate) fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(value).context("serialising JSON")?
    );
    Ok(())
}

/// A time in the instance's display time zone.
pub fn display_time(at: Timestamp, instance: &Instance) -> String {
    at.to_zoned_datetime(instance.time_zone.clone())
        .strftime("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

fn print_link(link: &Link, instance: &Instance) {
    println!("{}", instance.base().link_url(&link.slug));
    let shown = link.target.shown();
    println!("  target:   {}", shown.unicode);
    if let Some(ascii) = &shown.ascii {
        println!("            ({ascii})");
    }
    if let Some(warning) = &shown.warning {
        println!("  careful:  {warning}");
    }
    let mut flags = vec![
        link.status.as_str().to_owned(),
        format!("redirect {}", link.redirect_status.code()),
    ];
    if link.locked {
        flags.push("locked (printed)".into());
    }
    if link.forward_query {
        flags.push("forwards query".into());
    }
    println!("  status:   {}", flags.join(", "));
    if !link.title.is_empty() {
        println!("  title:    {}", link.title);
    }
    if !link.tags.is_empty() {
        println!(
            "  tags:     {}",
            link.tags
                .iter()
                .map(Tag::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !link.aliases.is_empty() {
        println!(
            "  aliases:  {}",
            link.aliases
                .iter()
                .map(Slug::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for entry in &link.schedule {
        println!("  pending:  {}", describe_schedule(entry, instance));
    }
}

fn describe_schedule(entry: &ScheduleEntry, instance: &Instance) -> String {
    let what = match &entry.action {
        ScheduledAction::Target { target } => format!("go to {target}"),
        ScheduledAction::Retire => "retire".to_owned(),
    };
    format!(
        "[{}] from {}: {what} (scheduled by {})",
        entry.id,
        display_time(entry.at, instance),
        entry.actor
    )
}

fn describe_history(entry: &HistoryEntry, instance: &Instance) -> String {
    let change = describe_change(&entry.change, instance);
    let reason = entry
        .reason
        .as_deref()
        .map(|r| format!("  ({r})"))
        .unwrap_or_default();
    format!(
        "#{}  {}  {} via {}  {change}{reason}",
        entry.seq,
        display_time(entry.at, instance),
        entry.actor,
        entry.interface.as_str()
    )
}

/// One line for a recorded change, as the CLI and the admin show it.
pub fn describe_change(change: &Change, instance: &Instance) -> String {
    match change {
        Change::Created { slug, target } => format!("created {slug} -> {target}"),
        Change::Target { old, new } => format!("target {old} -> {new}"),
        Change::Slug { old, new } => format!("slug {old} -> {new} (old slug kept as alias)"),
        Change::Status { old, new } => format!("status {} -> {}", old.as_str(), new.as_str()),
        Change::Lock { locked: true } => "locked (printed)".to_owned(),
        Change::Lock { locked: false } => "unlocked".to_owned(),
        Change::Scheduled {
            at,
            target: Some(target),
        } => {
            format!(
                "scheduled: from {} go to {target}",
                display_time(*at, instance)
            )
        }
        Change::Scheduled { at, target: None } => {
            format!("scheduled: retire from {}", display_time(*at, instance))
        }
        Change::Unscheduled { at, target } => format!(
            "unscheduled: {} from {}",
            target
                .as_deref()
                .map_or("retire".to_owned(), |t| format!("go to {t}")),
            display_time(*at, instance)
        ),
    }
}
