//! `qrlink plan` and `qrlink apply`: links as code, through `qrlink_core::links_file`.

use std::path::Path;

use anyhow::Context;
use qrlink_core::clock::Clock;
use qrlink_core::link::{Actor, Interface};
use qrlink_core::links_file::{self, ChangeKind, FileContext, LinksFile, Plan, PlannedChange};
use qrlink_core::store::Store;

use crate::instance::Instance;
use crate::link_cmd::os_user;

/// `plan`'s exit status when the file and the database differ, like `diff` and `terraform
/// plan -detailed-exitcode`, so a CI job can tell "changes pending" from "failed".
pub const CHANGES_PENDING: u8 = 2;

pub async fn plan(
    store: &Store,
    instance: &Instance,
    file: &Path,
    json: bool,
    clock: &Clock,
) -> anyhow::Result<()> {
    let links = read(file, instance)?;
    let plan = links_file::plan(store, &links, clock.now()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&plan.changes)?);
    } else if plan.is_empty() {
        println!("no changes: the database matches {}", file.display());
    } else {
        print_changes(&plan);
        let printed = plan.changes.iter().filter(|c| c.locked).count();
        println!(
            "{} change(s), {printed} to printed links (apply needs --confirm-locked for those)",
            plan.changes.len()
        );
    }
    if plan.is_empty() {
        Ok(())
    } else {
        Err(crate::ExitWith(CHANGES_PENDING).into())
    }
}

pub async fn apply(
    store: &Store,
    instance: &Instance,
    file: &Path,
    confirm_locked: bool,
    clock: &Clock,
) -> anyhow::Result<()> {
    let links = read(file, instance)?;
    let now = clock.now();
    let plan = links_file::plan(store, &links, now).await?;
    if plan.is_empty() {
        println!("nothing to apply: the database matches {}", file.display());
        return Ok(());
    }
    let actor = Actor::new(os_user(), Interface::File);
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let reason = format!("applied from {name}");
    plan.apply(store, &actor, now, &reason, confirm_locked)
        .await?;
    print_changes(&plan);
    println!(
        "applied {} change(s) from {}",
        plan.changes.len(),
        file.display()
    );
    Ok(())
}

fn read(file: &Path, instance: &Instance) -> anyhow::Result<LinksFile> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let context = FileContext {
        policy: &instance.policy,
        time_zone: &instance.time_zone,
    };
    match LinksFile::parse(&text, &context) {
        Ok(links) => Ok(links),
        Err(qrlink_core::Error::Rejected(rejections)) => {
            for rejection in &rejections {
                eprintln!("{}: {rejection}", file.display());
            }
            anyhow::bail!("{} link(s) of the file are invalid", rejections.len())
        }
        Err(error) => Err(error.into()),
    }
}

fn print_changes(plan: &Plan) {
    for change in &plan.changes {
        println!("{}", describe(change));
    }
}

fn describe(change: &PlannedChange) -> String {
    let (sign, verb) = match change.kind {
        ChangeKind::New => ('+', "new"),
        ChangeKind::Repoint => ('~', "re-point"),
        ChangeKind::Retire => ('-', "retire"),
        ChangeKind::Unretire => ('+', "unretire"),
        ChangeKind::Rename => ('~', "rename"),
        ChangeKind::Details => ('~', "details"),
        ChangeKind::Lock => ('~', "lock"),
        ChangeKind::Unlock => ('~', "unlock"),
        ChangeKind::Schedule => ('~', "schedule"),
        ChangeKind::Unschedule => ('~', "unschedule"),
    };
    let mut line = format!("{sign} {verb:<10} {}", change.slug);
    if !change.detail.is_empty() {
        line.push_str(": ");
        line.push_str(&change.detail);
    }
    if change.locked {
        line.push_str("  [printed: needs --confirm-locked]");
    }
    line
}
