//! The conformance suite: every `Store` operation, told as stories, run on SQLite and on
//! PostgreSQL (a fresh database per test, from `QRLINK_TEST_DATABASE_URL`).

use jiff::{SignedDuration, Timestamp};
use qrlink_core::Error;
use qrlink_core::accounts::{
    self, LinkRights, NewToken, Password, PasswordHash, PasswordLinkFor, PasswordLinkSecret, Role,
    Scope, SessionSecret, SessionTimeouts, SignIn, SignInReservation, TokenSecret,
};
use qrlink_core::base_url::BaseUrl;
use qrlink_core::counts::{Counts, DailyCount, HitCounter, HitKind};
use qrlink_core::link::{
    Actor, Change, Interface, LinkDetails, LinkStatus, NewLink, RedirectStatus, Tag,
};
use qrlink_core::links_file::{self, ChangeKind, FileContext, LinksFile};
use qrlink_core::passwords::PasswordWork;
use qrlink_core::slug::Slug;
use qrlink_core::store::{LinkOrder, LinkQuery, SavedStyle, Store, StoreLocation, TargetChange};
use qrlink_core::table::{RedirectTable, Resolution};
use qrlink_core::target::{TargetPolicy, TargetUrl};
use qrlink_core::testing::TestDatabase;
use qrlink_core::transfer::{self, ExportFormat, ImportContext, Source};

/// Runs each story once per backend.
macro_rules! conformance {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $story() {
                    let db = qrlink_core::testing::TestDatabase::sqlite().await;
                    super::$story(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $story() {
                    let Some(db) = qrlink_core::testing::TestDatabase::postgres().await else { return };
                    super::$story(&db).await;
                }
            )*
        }
    };
}

conformance!(
    a_created_link_reads_back_with_its_history,
    slugs_are_case_insensitive_and_never_freed,
    a_missing_slug_is_generated,
    re_pointing_records_old_and_new_with_reason,
    a_printed_link_needs_confirmation_and_cannot_be_renamed,
    a_renamed_link_keeps_its_old_slug_as_alias,
    retiring_and_unretiring_are_recorded,
    scheduled_changes_take_effect_at_their_time,
    an_earlier_target_is_restored_as_a_new_entry,
    a_pending_entry_can_be_unscheduled,
    details_change_without_touching_history,
    listing_searches_filters_and_pages_by_keyset,
    counts_add_up_across_flushes,
    a_large_count_batch_is_written_in_several_statements,
    the_change_feed_lets_a_table_follow_every_write,
    visits_counted_by_the_table_keep_their_day_through_a_reload,
    several_processes_can_migrate_at_once,
    a_schema_newer_than_the_binary_is_refused,
    an_sqlite_backup_is_consistent_and_checked,
    a_bulk_creation_is_all_or_nothing,
    concurrent_appends_and_folds_count_every_hit_once,
    a_search_matching_thousands_of_links_pages_in_slug_order,
    a_long_count_log_is_folded_in_several_transactions,
    an_export_imported_into_an_empty_database_exports_the_same,
    an_import_with_any_rejected_record_stores_nothing,
    a_table_follows_a_bulk_import_by_reloading,
    a_links_file_is_planned_and_applied_until_nothing_is_left,
    a_token_works_until_it_expires_or_is_revoked_and_its_user_caps_it,
    a_session_ends_when_idle_too_long_at_its_absolute_end_or_at_sign_out,
    failed_sign_ins_hold_back_one_client_at_one_name_for_longer_each_time,
    parallel_wrong_passwords_are_checked_no_more_often_than_the_back_off_allows,
    a_name_has_a_ceiling_across_all_clients_that_refills,
    a_link_holds_at_most_100_pending_schedule_entries_however_they_come,
    the_setup_link_creates_the_first_admin_once,
    a_password_link_sets_a_password_once_and_ends_the_old_sessions,
    a_role_change_ends_sessions_and_the_last_admin_stays,
    editors_change_their_own_links_unless_granted_all,
    expired_sessions_and_links_are_pruned,
    a_saved_style_is_kept_replaced_and_forgotten,
    a_blocked_domain_is_refused_by_every_write,
    links_are_listed_by_latest_change_a_page_at_a_time,
    style_presets_are_named_replaced_and_deleted,
);

fn t0() -> Timestamp {
    "2026-06-01T10:00:00Z".parse().unwrap()
}

fn policy() -> TargetPolicy {
    TargetPolicy {
        base: BaseUrl::parse("https://go.example.org").unwrap(),
        allow_private: false,
    }
}

fn target(url: &str) -> TargetUrl {
    TargetUrl::parse(url, &policy()).unwrap()
}

fn slug(s: &str) -> Slug {
    Slug::parse(s).unwrap()
}

fn alice() -> Actor {
    Actor::new("alice", Interface::Cli)
}

async fn create(store: &Store, s: &str, url: &str) -> qrlink_core::link::Link {
    store
        .create_link(&NewLink::new(Some(slug(s)), target(url)), &alice(), t0())
        .await
        .unwrap()
}

fn repoint<'a>(s: &'a Slug, t: &'a TargetUrl) -> TargetChange<'a> {
    TargetChange {
        slug: s,
        target: t,
        at: None,
        reason: None,
        confirm: false,
    }
}

async fn a_created_link_reads_back_with_its_history(db: &TestDatabase) {
    let store = &db.store;
    let mut new = NewLink::new(Some(slug("pycon-talk")), target("https://example.org/talk"));
    new.title = "My talk".into();
    new.tags = vec![Tag::parse("pycon").unwrap(), Tag::parse("talks").unwrap()];
    let created = store.create_link(&new, &alice(), t0()).await.unwrap();
    let read = store.link(&slug("PYCON-TALK")).await.unwrap();
    assert_eq!(read, created);
    assert_eq!(read.slug.as_str(), "pycon-talk");
    assert_eq!(read.target.as_str(), "https://example.org/talk");
    assert_eq!(read.title, "My talk");
    assert_eq!(
        read.tags.iter().map(Tag::as_str).collect::<Vec<_>>(),
        ["pycon", "talks"]
    );
    assert_eq!(
        (read.status, read.locked, read.redirect_status),
        (LinkStatus::Active, false, RedirectStatus::FOUND)
    );
    assert_eq!(read.created_at, t0());
    let history = store.history(&read.slug).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (
            history[0].seq,
            history[0].actor.as_str(),
            history[0].interface
        ),
        (1, "alice", Interface::Cli)
    );
    assert_eq!(
        history[0].change,
        Change::Created {
            slug: "pycon-talk".into(),
            target: "https://example.org/talk".into()
        }
    );
    assert!(matches!(
        store.link(&slug("nope")).await,
        Err(Error::NotFound(_))
    ));
}

async fn slugs_are_case_insensitive_and_never_freed(db: &TestDatabase) {
    let store = &db.store;
    create(store, "talk", "https://example.org/1").await;
    let again = store
        .create_link(
            &NewLink::new(Some(slug("TALK")), target("https://example.org/2")),
            &alice(),
            t0(),
        )
        .await;
    assert!(matches!(again, Err(Error::SlugTaken(s)) if s.as_str() == "talk"));
    store
        .retire(&slug("talk"), None, false, &alice(), t0())
        .await
        .unwrap();
    let after_retire = store
        .create_link(
            &NewLink::new(Some(slug("talk")), target("https://example.org/3")),
            &alice(),
            t0(),
        )
        .await;
    assert!(
        matches!(after_retire, Err(Error::SlugTaken(_))),
        "a retired link's slug stays taken"
    );
    let all = store
        .list_links(&LinkQuery {
            limit: 10,
            ..LinkQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "nothing was stored by the refused creates");
    assert_eq!(all[0].target.as_str(), "https://example.org/1");
}

async fn a_missing_slug_is_generated(db: &TestDatabase) {
    let link = db
        .store
        .create_link(
            &NewLink::new(None, target("https://example.org/")),
            &alice(),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(link.slug.as_str().len(), qrlink_core::slug::GENERATED_LEN);
    assert_eq!(db.store.link(&link.slug).await.unwrap().id, link.id);
}

async fn re_pointing_records_old_and_new_with_reason(db: &TestDatabase) {
    let store = &db.store;
    let link = create(store, "menu", "https://example.org/menu-2026").await;
    let new_target = target("https://example.org/menu-2027");
    let change = TargetChange {
        reason: Some("new season"),
        ..repoint(&link.slug, &new_target)
    };
    let later = t0() + SignedDuration::from_hours(1);
    let updated = store.set_target(change, &alice(), later).await.unwrap();
    assert_eq!(updated.target, new_target);
    assert_eq!(updated.updated_at, later);
    // The same target again changes nothing and records nothing.
    store
        .set_target(repoint(&link.slug, &new_target), &alice(), later)
        .await
        .unwrap();
    let history = store.history(&link.slug).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[1].change,
        Change::Target {
            old: "https://example.org/menu-2026".into(),
            new: "https://example.org/menu-2027".into()
        }
    );
    assert_eq!(history[1].reason.as_deref(), Some("new season"));
    assert_eq!(history[1].at, later);
}

async fn a_printed_link_needs_confirmation_and_cannot_be_renamed(db: &TestDatabase) {
    let store = &db.store;
    let link = create(store, "banner", "https://example.org/a").await;
    let locked = store
        .set_locked(&link.slug, true, &alice(), t0())
        .await
        .unwrap();
    assert!(locked.locked);
    let b = target("https://example.org/b");
    let refused = store
        .set_target(repoint(&link.slug, &b), &alice(), t0())
        .await;
    assert!(matches!(refused, Err(Error::ConfirmationRequired(_))));
    assert!(matches!(
        store.retire(&link.slug, None, false, &alice(), t0()).await,
        Err(Error::ConfirmationRequired(_))
    ));
    assert!(matches!(
        store
            .rename(&link.slug, &slug("banner-2"), &alice(), t0())
            .await,
        Err(Error::LockedRename(_))
    ));
    assert_eq!(
        store.link(&link.slug).await.unwrap().target.as_str(),
        "https://example.org/a",
        "nothing changed"
    );
    let confirmed = store
        .set_target(
            TargetChange {
                confirm: true,
                ..repoint(&link.slug, &b)
            },
            &alice(),
            t0(),
        )
        .await;
    assert_eq!(confirmed.unwrap().target, b);
    store
        .set_locked(&link.slug, false, &alice(), t0())
        .await
        .unwrap();
    let kinds: Vec<Change> = store
        .history(&link.slug)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.change)
        .collect();
    assert_eq!(kinds[1], Change::Lock { locked: true });
    assert_eq!(kinds[3], Change::Lock { locked: false });
}

async fn a_renamed_link_keeps_its_old_slug_as_alias(db: &TestDatabase) {
    let store = &db.store;
    let link = create(store, "old-name", "https://example.org/").await;
    create(store, "other", "https://example.org/other").await;
    let renamed = store
        .rename(&link.slug, &slug("new-name"), &alice(), t0())
        .await
        .unwrap();
    assert_eq!(renamed.slug.as_str(), "new-name");
    assert_eq!(renamed.aliases, [slug("old-name")]);
    assert_eq!(
        store.link(&slug("old-name")).await.unwrap().id,
        link.id,
        "the old slug still reaches the link"
    );
    for taken in ["other", "old-name"] {
        let refused = store
            .rename(&slug("new-name"), &slug(taken), &alice(), t0())
            .await;
        assert!(matches!(refused, Err(Error::SlugTaken(_))), "{taken}");
    }
    let refused = store
        .create_link(
            &NewLink::new(Some(slug("old-name")), target("https://example.org/x")),
            &alice(),
            t0(),
        )
        .await;
    assert!(
        matches!(refused, Err(Error::SlugTaken(_))),
        "an alias blocks creation"
    );
    let last = store.history(&renamed.slug).await.unwrap().pop().unwrap();
    assert_eq!(
        last.change,
        Change::Slug {
            old: "old-name".into(),
            new: "new-name".into()
        }
    );
}

async fn retiring_and_unretiring_are_recorded(db: &TestDatabase) {
    let store = &db.store;
    let link = create(store, "flyer", "https://example.org/").await;
    assert_eq!(
        store
            .retire(&link.slug, None, false, &alice(), t0())
            .await
            .unwrap()
            .status,
        LinkStatus::Retired
    );
    assert_eq!(
        store
            .unretire(&link.slug, &alice(), t0())
            .await
            .unwrap()
            .status,
        LinkStatus::Active
    );
    let changes: Vec<Change> = store
        .history(&link.slug)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.change)
        .collect();
    assert_eq!(
        changes[1..],
        [
            Change::Status {
                old: LinkStatus::Active,
                new: LinkStatus::Retired
            },
            Change::Status {
                old: LinkStatus::Retired,
                new: LinkStatus::Active
            },
        ]
    );
}

async fn scheduled_changes_take_effect_at_their_time(db: &TestDatabase) {
    let store = &db.store;
    let link = create(store, "conf", "https://example.org/cfp").await;
    let switch_at = t0() + SignedDuration::from_hours(24);
    let retire_at = t0() + SignedDuration::from_hours(48);
    let recap = target("https://example.org/recap");
    let change = TargetChange {
        at: Some(switch_at),
        ..repoint(&link.slug, &recap)
    };
    let scheduled = store.set_target(change, &alice(), t0()).await.unwrap();
    assert_eq!(
        scheduled.target.as_str(),
        "https://example.org/cfp",
        "nothing changes before its time"
    );
    let scheduled = store
        .retire(&link.slug, Some(retire_at), false, &alice(), t0())
        .await
        .unwrap();
    assert_eq!(scheduled.schedule.len(), 2);
    let just_before = switch_at - SignedDuration::from_micros(1);
    assert_eq!(
        scheduled.state_at(just_before).target.as_str(),
        "https://example.org/cfp"
    );
    assert_eq!(scheduled.state_at(switch_at).target, &recap);
    assert_eq!(scheduled.state_at(switch_at).status, LinkStatus::Active);
    assert_eq!(scheduled.state_at(retire_at).status, LinkStatus::Retired);

    // Folding due entries records them in history as the scheduler's doing, at their time.
    assert_eq!(store.apply_due_schedules(just_before).await.unwrap(), 0);
    assert_eq!(
        store
            .apply_due_schedules(switch_at + SignedDuration::from_mins(5))
            .await
            .unwrap(),
        1
    );
    let folded = store.link(&link.slug).await.unwrap();
    assert_eq!(
        (folded.target.clone(), folded.schedule.len()),
        (recap.clone(), 1)
    );
    let last = store.history(&link.slug).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.at, last.interface, last.actor.as_str()),
        (switch_at, Interface::Schedule, "alice")
    );
    // A write after the retirement time first folds it, so it starts from what visitors see.
    let after = store
        .unretire(
            &link.slug,
            &alice(),
            retire_at + SignedDuration::from_hours(1),
        )
        .await
        .unwrap();
    assert_eq!(
        (after.status, after.schedule.len()),
        (LinkStatus::Active, 0)
    );
    let statuses: Vec<Change> = store
        .history(&link.slug)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .take(2)
        .map(|e| e.change)
        .collect();
    assert_eq!(
        statuses,
        [
            Change::Status {
                old: LinkStatus::Retired,
                new: LinkStatus::Active
            },
            Change::Status {
                old: LinkStatus::Active,
                new: LinkStatus::Retired
            },
        ]
    );
}

async fn an_earlier_target_is_restored_as_a_new_entry(db: &TestDatabase) {
    let store = &db.store;
    let link = create(store, "slides", "https://example.org/v1").await;
    let v2 = target("https://example.org/v2");
    store
        .set_target(repoint(&link.slug, &v2), &alice(), t0())
        .await
        .unwrap();
    let restored = store
        .restore(&link.slug, 1, &policy(), false, &alice(), t0())
        .await
        .unwrap();
    assert_eq!(restored.target.as_str(), "https://example.org/v1");
    let last = store.history(&link.slug).await.unwrap().pop().unwrap();
    assert_eq!(last.seq, 3);
    assert_eq!(
        last.change,
        Change::Target {
            old: "https://example.org/v2".into(),
            new: "https://example.org/v1".into()
        }
    );
    assert_eq!(
        last.reason.as_deref(),
        Some("restored from history entry 1")
    );
    let missing = store
        .restore(&link.slug, 99, &policy(), false, &alice(), t0())
        .await;
    assert!(
        matches!(&missing, Err(Error::Missing(text)) if text.contains("no entry 99")),
        "{missing:?}"
    );
}

async fn a_pending_entry_can_be_unscheduled(db: &TestDatabase) {
    let store = &db.store;
    let link = create(store, "poster", "https://example.org/").await;
    let at = t0() + SignedDuration::from_hours(3);
    let scheduled = store
        .retire(&link.slug, Some(at), false, &alice(), t0())
        .await
        .unwrap();
    let entry = scheduled.schedule[0].id;
    let cleared = store
        .unschedule(&link.slug, entry, &alice(), t0())
        .await
        .unwrap();
    assert!(cleared.schedule.is_empty());
    assert_eq!(cleared.state_at(at).status, LinkStatus::Active);
    let last = store.history(&link.slug).await.unwrap().pop().unwrap();
    assert_eq!(last.change, Change::Unscheduled { at, target: None });
    assert!(matches!(
        store.unschedule(&link.slug, entry, &alice(), t0()).await,
        Err(Error::Missing(_))
    ));
}

async fn details_change_without_touching_history(db: &TestDatabase) {
    let store = &db.store;
    let link = create(store, "badge", "https://example.org/").await;
    let details = LinkDetails {
        title: Some("Badge".into()),
        notes: Some("printed on 500 badges".into()),
        tags: Some(vec![Tag::parse("event").unwrap()]),
        redirect_status: Some(RedirectStatus::parse(308).unwrap()),
        forward_query: Some(true),
    };
    let updated = store
        .update_details(&link.slug, &details, &alice(), t0())
        .await
        .unwrap();
    assert_eq!(
        (updated.title.as_str(), updated.notes.as_str()),
        ("Badge", "printed on 500 badges")
    );
    assert_eq!(
        (updated.redirect_status.code(), updated.forward_query),
        (308, true)
    );
    assert_eq!(updated.tags, [Tag::parse("event").unwrap()]);
    let untouched = store
        .update_details(&link.slug, &LinkDetails::default(), &alice(), t0())
        .await
        .unwrap();
    assert_eq!(untouched.title, "Badge");
    assert_eq!(store.history(&link.slug).await.unwrap().len(), 1);
}

async fn listing_searches_filters_and_pages_by_keyset(db: &TestDatabase) {
    let store = &db.store;
    for i in 0..7 {
        let mut new = NewLink::new(
            Some(slug(&format!("link-{i}"))),
            target(&format!("https://shop.example.com/item/{i}")),
        );
        new.title = if i % 2 == 0 {
            format!("Even 100% item {i}")
        } else {
            format!("Odd item {i}")
        };
        new.tags = vec![Tag::parse(if i < 3 { "early" } else { "late" }).unwrap()];
        store.create_link(&new, &alice(), t0()).await.unwrap();
    }
    store
        .retire(&slug("link-6"), None, false, &alice(), t0())
        .await
        .unwrap();
    let slugs = |links: Vec<qrlink_core::link::Link>| {
        links
            .into_iter()
            .map(|l| l.slug.to_string())
            .collect::<Vec<_>>()
    };
    let page = |after: Option<&str>| LinkQuery {
        limit: 3,
        after: after.map(slug),
        ..LinkQuery::default()
    };
    assert_eq!(
        slugs(store.list_links(&page(None)).await.unwrap()),
        ["link-0", "link-1", "link-2"]
    );
    assert_eq!(
        slugs(store.list_links(&page(Some("link-2"))).await.unwrap()),
        ["link-3", "link-4", "link-5"]
    );
    assert_eq!(
        slugs(store.list_links(&page(Some("link-5"))).await.unwrap()),
        ["link-6"]
    );
    // A page knows whether another follows, even when it is full and the last.
    let first = store.list_page(&page(None)).await.unwrap();
    assert_eq!(first.next_after.as_ref().map(Slug::as_str), Some("link-2"));
    let last_full = store.list_page(&page(Some("link-3"))).await.unwrap();
    assert_eq!(
        (slugs(last_full.links), last_full.next_after),
        (
            vec!["link-4".to_owned(), "link-5".into(), "link-6".into()],
            None
        )
    );
    let query = |search: &str| LinkQuery {
        search: Some(search.into()),
        limit: 50,
        ..LinkQuery::default()
    };
    assert_eq!(
        slugs(store.list_links(&query("EVEN")).await.unwrap()),
        ["link-0", "link-2", "link-4", "link-6"]
    );
    assert_eq!(
        slugs(store.list_links(&query("100%")).await.unwrap()),
        ["link-0", "link-2", "link-4", "link-6"]
    );
    assert_eq!(
        slugs(store.list_links(&query("0%")).await.unwrap()),
        ["link-0", "link-2", "link-4", "link-6"]
    );
    assert_eq!(
        slugs(store.list_links(&query("item/3")).await.unwrap()),
        ["link-3"]
    );
    assert!(
        store.list_links(&query("_")).await.unwrap().is_empty(),
        "`_` is literal, not a wildcard"
    );
    let refused = store.list_links(&query("6\nhttps")).await;
    assert!(
        matches!(&refused, Err(Error::Invalid(i)) if i.field == "search"),
        "a line break could match across two fields: {refused:?}"
    );
    // The search index follows edits: a new title and a new slug are found, old ones not.
    let details = LinkDetails {
        title: Some("Poster for the lobby".into()),
        ..LinkDetails::default()
    };
    store
        .update_details(&slug("link-1"), &details, &alice(), t0())
        .await
        .unwrap();
    store
        .rename(&slug("link-3"), &slug("lobby-flyer"), &alice(), t0())
        .await
        .unwrap();
    assert_eq!(
        slugs(store.list_links(&query("LOBBY")).await.unwrap()),
        ["link-1", "lobby-flyer"]
    );
    assert_eq!(
        slugs(store.list_links(&query("odd item")).await.unwrap()),
        ["link-5", "lobby-flyer"],
        "link-1 lost its old title; link-3 kept its title under its new slug"
    );
    let late_active = LinkQuery {
        tag: Some(Tag::parse("late").unwrap()),
        status: Some(LinkStatus::Active),
        limit: 50,
        ..LinkQuery::default()
    };
    assert_eq!(
        slugs(store.list_links(&late_active).await.unwrap()),
        ["link-4", "link-5", "lobby-flyer"]
    );
}

async fn counts_add_up_across_flushes(db: &TestDatabase) {
    let store = &db.store;
    let link = create(store, "counted", "https://example.org/").await;
    let day = |d: &str| d.parse().unwrap();
    let batch = |hits, head_hits, bot_hits| {
        vec![
            DailyCount {
                link_id: link.id,
                day: day("2026-06-01"),
                counts: Counts {
                    hits,
                    head_hits,
                    bot_hits,
                },
            },
            DailyCount {
                link_id: link.id,
                day: day("2026-06-02"),
                counts: Counts {
                    hits: 1,
                    head_hits: 0,
                    bot_hits: 0,
                },
            },
        ]
    };
    store.add_counts(&batch(5, 1, 2)).await.unwrap();
    store.add_counts(&batch(3, 0, 1)).await.unwrap();
    store.add_counts(&[]).await.unwrap();
    let counts = store.daily_counts(&link.slug).await.unwrap();
    let summary: Vec<(String, Counts)> = counts
        .iter()
        .map(|c| (c.day.to_string(), c.counts))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "2026-06-01".into(),
                Counts {
                    hits: 8,
                    head_hits: 1,
                    bot_hits: 3
                }
            ),
            (
                "2026-06-02".into(),
                Counts {
                    hits: 2,
                    head_hits: 0,
                    bot_hits: 0
                }
            ),
        ]
    );
    // Folding the log into the daily totals changes nothing a reader sees.
    assert_eq!(
        store.fold_counts().await.unwrap(),
        4,
        "four log rows folded"
    );
    assert_eq!(store.daily_counts(&link.slug).await.unwrap(), counts);
    assert_eq!(
        store.fold_counts().await.unwrap(),
        0,
        "nothing left to fold"
    );
    store.add_counts(&batch(1, 0, 0)).await.unwrap();
    let after: Vec<i64> = store
        .daily_counts(&link.slug)
        .await
        .unwrap()
        .iter()
        .map(|c| c.counts.hits)
        .collect();
    assert_eq!(after, [9, 3], "folded totals and the fresh log add up");
}

/// Replicas append counts and fold them at the same time: every hit is counted exactly once.
async fn concurrent_appends_and_folds_count_every_hit_once(db: &TestDatabase) {
    let link = create(&db.store, "shared", "https://example.org/").await;
    let other = db.reopen().await;
    let one = |hits| {
        vec![DailyCount {
            link_id: link.id,
            day: "2026-06-01".parse().unwrap(),
            counts: Counts {
                hits,
                head_hits: 0,
                bot_hits: 0,
            },
        }]
    };
    let replica = |store: Store| async move {
        for round in 1..=40i64 {
            store.add_counts(&one(round)).await.unwrap();
            if round % 3 == 0 {
                store.fold_counts().await.unwrap();
            }
        }
    };
    tokio::join!(replica(db.store.clone()), replica(other.clone()));
    other.fold_counts().await.unwrap();
    let total: i64 = db
        .store
        .daily_counts(&link.slug)
        .await
        .unwrap()
        .iter()
        .map(|c| c.counts.hits)
        .sum();
    assert_eq!(total, 2 * (1..=40).sum::<i64>());
    other.close().await;
}

async fn a_large_count_batch_is_written_in_several_statements(db: &TestDatabase) {
    let store = &db.store;
    let link = create(store, "busy", "https://example.org/").await;
    let first: jiff::civil::Date = "2026-01-01".parse().unwrap();
    let batch: Vec<DailyCount> = (0..9001)
        .map(|i| DailyCount {
            link_id: link.id,
            day: first
                .checked_add(SignedDuration::from_hours(24 * i))
                .unwrap(),
            counts: Counts {
                hits: i,
                head_hits: 0,
                bot_hits: 1,
            },
        })
        .collect();
    store.add_counts(&batch).await.unwrap();
    let counts = store.daily_counts(&link.slug).await.unwrap();
    assert_eq!(counts.len(), 9001);
    assert_eq!(
        counts.iter().map(|c| c.counts.hits).sum::<i64>(),
        (0..9001).sum::<i64>()
    );
    assert_eq!(counts[9000].day.to_string(), "2050-08-23");
    assert!(
        counts
            .iter()
            .all(|c| c.counts.bot_hits == 1 && c.counts.head_hits == 0)
    );
}

async fn the_change_feed_lets_a_table_follow_every_write(db: &TestDatabase) {
    let store = &db.store;
    let table = RedirectTable::new();
    assert_eq!(
        table.resolve("x", None, t0()),
        Resolution::Unavailable,
        "not loaded yet"
    );
    let first = create(store, "first", "https://example.org/1").await;
    table.load(store).await.unwrap();
    let redirect = |location: &str| Resolution::Redirect {
        link_id: first.id,
        location: location.into(),
        status: RedirectStatus::FOUND,
    };
    assert_eq!(
        table.resolve("FIRST", None, t0()),
        redirect("https://example.org/1")
    );
    assert_eq!(table.resolve("second", None, t0()), Resolution::NotFound);

    let second = create(store, "second", "https://example.org/2").await;
    store
        .set_target(
            repoint(&first.slug, &target("https://example.org/1b")),
            &alice(),
            t0(),
        )
        .await
        .unwrap();
    store
        .rename(&first.slug, &slug("first-renamed"), &alice(), t0())
        .await
        .unwrap();
    assert_eq!(table.catch_up(store).await.unwrap(), 2);
    assert_eq!(
        table.resolve("first", None, t0()),
        redirect("https://example.org/1b")
    );
    assert_eq!(
        table.resolve("first-renamed", None, t0()),
        redirect("https://example.org/1b")
    );
    assert!(
        matches!(table.resolve("second", None, t0()), Resolution::Redirect { link_id, .. } if link_id == second.id)
    );
    assert_eq!(table.catch_up(store).await.unwrap(), 0, "nothing new");

    store
        .retire(&second.slug, None, false, &alice(), t0())
        .await
        .unwrap();
    table.catch_up(store).await.unwrap();
    assert_eq!(
        table.resolve("second", None, t0()),
        Resolution::Retired { link_id: second.id }
    );
    assert_eq!(table.resolve("caf\u{e9}", None, t0()), Resolution::NotFound);
    assert_eq!(table.len(), 3);

    // A table loaded from scratch (the bulk read) knows the alias and the retirement too.
    let fresh = RedirectTable::new();
    fresh.load(store).await.unwrap();
    assert_eq!(fresh.len(), 3);
    for slug in ["first", "first-renamed", "second"] {
        assert_eq!(
            fresh.resolve(slug, None, t0()),
            table.resolve(slug, None, t0()),
            "{slug}"
        );
    }
}

async fn visits_counted_by_the_table_keep_their_day_through_a_reload(db: &TestDatabase) {
    let store = &db.store;
    let link = create(store, "first", "https://example.org/1").await;
    let table = RedirectTable::new();
    table.load(store).await.unwrap();
    let counter = HitCounter::new();
    let before_midnight: Timestamp = "2026-05-01T23:59:59.999Z".parse().unwrap();
    let after_midnight: Timestamp = "2026-05-02T00:00:00.5Z".parse().unwrap();
    let visit = |at: Timestamp, kind: HitKind| {
        let answer = table.visit("First", None, at, || kind, &counter);
        assert!(matches!(answer, Resolution::Redirect { .. }), "{answer:?}");
    };
    for _ in 0..3 {
        visit(before_midnight, HitKind::Hit);
    }
    visit(before_midnight, HitKind::Head);
    visit(after_midnight, HitKind::Hit);
    visit(after_midnight, HitKind::Bot);
    // What is not a redirect is neither counted nor asked what kind of visit it was.
    let missing = table.visit("nope", None, after_midnight, || panic!("asked"), &counter);
    assert_eq!(missing, Resolution::NotFound);
    table.resolve("first", None, after_midnight);

    // A reload replaces the table: the visits counted in the old one are kept.
    table.load(store).await.unwrap();
    visit(after_midnight, HitKind::Hit);

    let mut taken = table.take_visits(after_midnight);
    taken.extend(counter.drain());
    // What a flush writes, added up per day.
    let mut days = std::collections::BTreeMap::<String, Counts>::new();
    for count in &taken {
        assert_eq!(count.link_id, link.id);
        days.entry(count.day.to_string())
            .or_default()
            .add(count.counts);
    }
    let summary: Vec<_> = days
        .into_iter()
        .map(|(day, c)| (day, c.hits, c.head_hits, c.bot_hits))
        .collect();
    assert_eq!(
        summary,
        [
            ("2026-05-01".into(), 3, 1, 0),
            ("2026-05-02".into(), 2, 0, 1)
        ],
        "each visit on the UTC day it happened, the one before the flush's too"
    );
    assert!(counter.is_empty());
    assert_eq!(table.take_visits(after_midnight), [], "taken once");

    // The next midnight, when today's cell is the other one.
    let next_midnight: Timestamp = "2026-05-03T00:00:00Z".parse().unwrap();
    visit(next_midnight - SignedDuration::from_millis(1), HitKind::Hit);
    visit(next_midnight, HitKind::Hit);
    visit(next_midnight, HitKind::Hit);
    let mut taken: Vec<_> = table
        .take_visits(next_midnight)
        .into_iter()
        .map(|c| (c.day.to_string(), c.counts.hits))
        .collect();
    taken.sort();
    assert_eq!(taken, [("2026-05-02".into(), 1), ("2026-05-03".into(), 2)]);
}

async fn several_processes_can_migrate_at_once(db: &TestDatabase) {
    // Open the same database from four connections pools at once, as replicas starting together would.
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let dir = db.data_dir().map(|d| d.to_path_buf());
            let url = db.postgres_url().map(str::to_owned);
            tokio::spawn(async move {
                match (&dir, &url) {
                    (Some(dir), _) => Store::open(StoreLocation::SqliteDir(dir)).await,
                    (None, Some(url)) => Store::open(StoreLocation::Postgres(url)).await,
                    (None, None) => unreachable!(),
                }
            })
        })
        .collect();
    for open in opens {
        let store = open.await.unwrap().expect("concurrent open and migrate");
        store.close().await;
    }
}

async fn a_schema_newer_than_the_binary_is_refused(db: &TestDatabase) {
    let future = qrlink_core::store::SCHEMA_VERSION + 1;
    match &db.store {
        Store::Sqlite(_) => {
            let path = db.data_dir().unwrap().join("qrlink.db");
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            sqlx::query("INSERT INTO schema_migrations VALUES ($1, 'future', 0)")
                .bind(future)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
            let refused = Store::open(StoreLocation::SqliteDir(db.data_dir().unwrap())).await;
            assert!(matches!(refused, Err(Error::SchemaTooNew { found, .. }) if found == future));
        }
        Store::Postgres(_) => {
            let url = db.postgres_url().unwrap();
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query("INSERT INTO schema_migrations VALUES ($1, 'future', 0)")
                .bind(future)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
            let refused = Store::open(StoreLocation::Postgres(url)).await;
            assert!(matches!(refused, Err(Error::SchemaTooNew { found, .. }) if found == future));
        }
    }
}

async fn an_sqlite_backup_is_consistent_and_checked(db: &TestDatabase) {
    let store = &db.store;
    create(store, "kept", "https://example.org/kept").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    match store {
        Store::Sqlite(_) => {
            assert_eq!(store.backup(&file).await.unwrap(), 1);
            assert_eq!(mode(&file), 0o600, "the copy holds password hashes too");
            assert!(matches!(store.backup(&file).await, Err(Error::Invalid(i)) if i.rule == "new"));
            let restored_dir = dir.path().join("restored");
            assert_eq!(
                qrlink_core::store::restore_sqlite(&file, &restored_dir, false)
                    .await
                    .unwrap(),
                1
            );
            let restored = Store::open(StoreLocation::SqliteDir(&restored_dir))
                .await
                .unwrap();
            assert_eq!(
                restored.link(&slug("kept")).await.unwrap().target.as_str(),
                "https://example.org/kept"
            );
            assert_eq!(
                restored.history(&slug("kept")).await.unwrap().len(),
                1,
                "history comes along"
            );
            restored.close().await;
            let refused = qrlink_core::store::restore_sqlite(&file, &restored_dir, false).await;
            assert!(
                matches!(refused, Err(Error::Invalid(i)) if i.rule == "empty"),
                "an existing database is not overwritten"
            );
            std::fs::write(dir.path().join("junk.db"), b"not a database").unwrap();
            let junk = qrlink_core::store::restore_sqlite(
                &dir.path().join("junk.db"),
                &dir.path().join("other"),
                false,
            )
            .await;
            assert!(matches!(junk, Err(Error::Invalid(i)) if i.rule == "sqlite"));
        }
        Store::Postgres(_) => {
            assert!(
                matches!(store.backup(&file).await, Err(Error::Invalid(i)) if i.rule == "sqlite_only")
            );
            assert!(!file.exists());
        }
    }
}

async fn a_bulk_creation_is_all_or_nothing(db: &TestDatabase) {
    let store = &db.store;
    let policy = policy();
    let new = |s: Option<&str>, n: u32| {
        let target = TargetUrl::parse(&format!("https://example.org/{n}"), &policy).unwrap();
        NewLink::new(s.map(|s| Slug::parse(s).unwrap()), target)
    };
    create(store, "taken", "https://example.org/taken").await;
    let refused = store
        .create_links(
            &[new(Some("fresh"), 1), new(None, 2), new(Some("TAKEN"), 3)],
            &alice(),
            t0(),
        )
        .await;
    assert!(matches!(refused, Err(Error::SlugTaken(_))), "{refused:?}");
    let all = store
        .list_links(&LinkQuery {
            limit: 100,
            ..LinkQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "nothing of the refused batch was stored");

    let batch: Vec<NewLink> = (0..250).map(|n| new(None, n)).collect();
    store.create_links(&batch, &alice(), t0()).await.unwrap();
    let all = store
        .list_links(&LinkQuery {
            limit: 1000,
            ..LinkQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 251);
    let table = RedirectTable::new();
    table.load(store).await.unwrap();
    assert_eq!(table.len(), 251, "each has a route");
}

/// More matches than SQLite lists through its search index: the other plan, same answers.
async fn a_search_matching_thousands_of_links_pages_in_slug_order(db: &TestDatabase) {
    let store = &db.store;
    let batch: Vec<NewLink> = (0..1100)
        .map(|n| {
            let mut new = NewLink::new(
                Some(slug(&format!("p{n:05}"))),
                target(&format!("https://example.org/{n}")),
            );
            new.title = if n % 100 == 7 {
                "Rare 5% flyer".into()
            } else {
                "Common poster".into()
            };
            new
        })
        .collect();
    store.create_links(&batch, &alice(), t0()).await.unwrap();
    let search = |term: &str, after: Option<&str>| LinkQuery {
        search: Some(term.into()),
        after: after.map(slug),
        limit: 3,
        ..LinkQuery::default()
    };
    let slugs = |links: Vec<qrlink_core::link::Link>| {
        links
            .into_iter()
            .map(|l| l.slug.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        slugs(store.list_links(&search("POSTER", None)).await.unwrap()),
        ["p00000", "p00001", "p00002"]
    );
    assert_eq!(
        slugs(
            store
                .list_links(&search("poster", Some("p01005")))
                .await
                .unwrap()
        ),
        ["p01006", "p01008", "p01009"],
        "p01007 is a rare one"
    );
    assert_eq!(
        slugs(
            store
                .list_links(&search("5% fly", Some("p00107")))
                .await
                .unwrap()
        ),
        ["p00207", "p00307", "p00407"]
    );
}

/// More log rows than one fold transaction takes: folded in chunks, every hit kept.
async fn a_long_count_log_is_folded_in_several_transactions(db: &TestDatabase) {
    let store = &db.store;
    let batch: Vec<NewLink> = (0..45)
        .map(|n| NewLink::new(Some(slug(&format!("c{n}"))), target("https://example.org/")))
        .collect();
    store.create_links(&batch, &alice(), t0()).await.unwrap();
    let first: jiff::civil::Date = "2026-01-01".parse().unwrap();
    let mut counts = Vec::new();
    for n in 0..45 {
        let link = store.link(&slug(&format!("c{n}"))).await.unwrap();
        for day in 0..1000 {
            counts.push(DailyCount {
                link_id: link.id,
                day: first
                    .checked_add(SignedDuration::from_hours(24 * day))
                    .unwrap(),
                counts: Counts {
                    hits: 2,
                    head_hits: 1,
                    bot_hits: 0,
                },
            });
        }
    }
    store.add_counts(&counts).await.unwrap();
    store.add_counts(&counts[..10]).await.unwrap();
    assert_eq!(
        store.fold_counts().await.unwrap(),
        45_010,
        "every log row, in three chunks"
    );
    let c0 = store.daily_counts(&slug("c0")).await.unwrap();
    assert_eq!(c0.len(), 1000);
    assert_eq!(c0.iter().map(|c| c.counts.hits).sum::<i64>(), 2000 + 10 * 2);
    let c44 = store.daily_counts(&slug("c44")).await.unwrap();
    assert_eq!(c44.iter().map(|c| c.counts.head_hits).sum::<i64>(), 1000);
}

async fn export(store: &Store, format: ExportFormat) -> String {
    let mut out = Vec::new();
    transfer::export(store, format, &mut out).await.unwrap();
    String::from_utf8(out).unwrap()
}

fn importing<'a>(policy: &'a TargetPolicy, actor: &'a Actor) -> ImportContext<'a> {
    ImportContext {
        policy,
        actor,
        now: t0() + SignedDuration::from_hours(24),
    }
}

/// Links with everything a link can carry: an alias, a schedule, a lock, a retirement, a
/// history with reasons, and text a spreadsheet would take for a formula.
async fn a_varied_collection(store: &Store) {
    let mut new = NewLink::new(
        Some(slug("keynote")),
        target("https://example.org/keynote?a=1#top"),
    );
    new.title = "=HYPERLINK(\"https://evil.example\")".into();
    new.notes = "Line one\nline two".into();
    new.tags = vec![Tag::parse("-dash").unwrap(), Tag::parse("talks").unwrap()];
    new.redirect_status = RedirectStatus::parse(308).unwrap();
    new.forward_query = true;
    new.owner = Some("alice".into());
    store.create_link(&new, &alice(), t0()).await.unwrap();
    let later = t0() + SignedDuration::from_mins(5);
    let (keynote, opening) = (slug("keynote"), slug("opening"));
    let moved = target("https://example.org/keynote-video");
    let change = TargetChange {
        reason: Some("video is up"),
        ..repoint(&keynote, &moved)
    };
    store.set_target(change, &alice(), later).await.unwrap();
    store
        .rename(&slug("keynote"), &slug("opening"), &alice(), later)
        .await
        .unwrap();
    store
        .set_locked(&slug("opening"), true, &alice(), later)
        .await
        .unwrap();
    let recap = target("https://example.org/recap");
    let scheduled = TargetChange {
        at: Some(t0() + SignedDuration::from_hours(24 * 30)),
        confirm: true,
        ..repoint(&opening, &recap)
    };
    store.set_target(scheduled, &alice(), later).await.unwrap();
    let retire_at = Some(t0() + SignedDuration::from_hours(24 * 60));
    store
        .retire(&slug("opening"), retire_at, true, &alice(), later)
        .await
        .unwrap();

    create(store, "old-flyer", "https://example.org/flyer").await;
    store
        .retire(&slug("old-flyer"), None, false, &alice(), later)
        .await
        .unwrap();
    create(store, "bar", "https://b\u{fc}cher.example/").await;
}

async fn an_export_imported_into_an_empty_database_exports_the_same(db: &TestDatabase) {
    let store = &db.store;
    a_varied_collection(store).await;
    let (policy, bob) = (policy(), Actor::new("bob", Interface::Cli));

    let json = export(store, ExportFormat::Json).await;
    assert_eq!(
        json.lines().count(),
        2 + 3,
        "a line each for the start, the end and every link"
    );
    assert_eq!(
        json.matches("\"owner\":\"alice\"").count(),
        1,
        "the owner is kept"
    );
    let empty = db.sibling().await;
    let imported = transfer::import(&empty.store, json.as_bytes(), &importing(&policy, &bob))
        .await
        .unwrap();
    assert_eq!(
        (imported.source, imported.rows.len()),
        (Source::QrlinkJson, 3)
    );
    assert_eq!(
        export(&empty.store, ExportFormat::Json).await,
        json,
        "JSON round trip"
    );
    let original = store.link(&slug("keynote")).await.unwrap();
    let copy = empty.store.link(&slug("keynote")).await.unwrap();
    assert_eq!(
        copy.slug.as_str(),
        "opening",
        "the alias leads to the renamed link"
    );
    assert_eq!((copy.locked, copy.schedule.len()), (true, 2));
    assert_eq!(copy.state_at(t0()).target, original.state_at(t0()).target);
    assert_eq!(
        empty.store.history(&slug("opening")).await.unwrap(),
        store.history(&slug("opening")).await.unwrap(),
        "history is restored verbatim"
    );

    let csv = export(store, ExportFormat::Csv).await;
    assert!(
        csv.starts_with("slug,target,title,tags,status,locked\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"https://evil.example\"\")\",'-dash;talks,"),
        "{csv}"
    );
    let empty = db.sibling().await;
    let imported = transfer::import(&empty.store, csv.as_bytes(), &importing(&policy, &bob))
        .await
        .unwrap();
    assert_eq!(
        (imported.source, imported.rows.len()),
        (Source::QrlinkCsv, 3)
    );
    assert_eq!(
        export(&empty.store, ExportFormat::Csv).await,
        csv,
        "CSV round trip"
    );
    let copy = empty.store.link(&slug("opening")).await.unwrap();
    assert_eq!(
        copy.title, "=HYPERLINK(\"https://evil.example\")",
        "neutralising is undone"
    );
    let history = empty.store.history(&slug("opening")).await.unwrap();
    assert_eq!(
        history.len(),
        2,
        "created, then locked, by the importer: {history:?}"
    );
    assert_eq!(history[0].actor, "bob");
    assert_eq!(
        history[0].reason.as_deref(),
        Some("imported from a qrlink CSV file")
    );
    assert_eq!(history[1].change, Change::Lock { locked: true });
}

async fn an_import_with_any_rejected_record_stores_nothing(db: &TestDatabase) {
    let store = &db.store;
    create(store, "taken", "https://example.org/taken").await;
    store
        .rename(&slug("taken"), &slug("renamed"), &alice(), t0())
        .await
        .unwrap();
    let (policy, bob) = (policy(), Actor::new("bob", Interface::Cli));
    let file = "slug,target,title\n\
                fine,https://example.org/fine,Fine\n\
                TAKEN,https://example.org/other,An alias of another link\n\
                bad-target,http://localhost/admin,Private\n\
                fine,https://example.org/again,Twice\n\
                short-row,https://example.org/x\n\
                -bad-slug,https://example.org/y,Bad slug\n\
                also-fine,https://example.org/also,Also fine\n";
    let refused = transfer::import(store, file.as_bytes(), &importing(&policy, &bob)).await;
    let Err(Error::Rejected(rejections)) = refused else {
        panic!("{refused:?}")
    };
    let found: Vec<(u64, &str, &str)> = rejections
        .iter()
        .map(|r| (r.line, r.invalid.field, r.invalid.rule))
        .collect();
    assert_eq!(
        found,
        [
            (4, "target", "private_address"),
            (5, "slug", "duplicate"),
            (6, "row", "columns"),
            (7, "slug", "edge_hyphen")
        ],
        "{rejections:?}"
    );
    assert!(
        rejections[1].invalid.message.contains("first on line 2"),
        "{rejections:?}"
    );

    // The taken slug is only found against the database, once the file itself is clean.
    let file = "slug,target\nfine,https://example.org/fine\nTAKEN,https://example.org/other\n";
    let refused = transfer::import(store, file.as_bytes(), &importing(&policy, &bob)).await;
    let Err(Error::Rejected(rejections)) = refused else {
        panic!("{refused:?}")
    };
    let found: Vec<(u64, &str, &str)> = rejections
        .iter()
        .map(|r| (r.line, r.invalid.field, r.invalid.rule))
        .collect();
    assert_eq!(found, [(3, "slug", "taken")]);
    let all = store
        .list_links(&LinkQuery {
            limit: 10,
            ..LinkQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "nothing of either file was stored");
    assert!(matches!(
        store.link(&slug("fine")).await,
        Err(Error::NotFound(_))
    ));
}

async fn a_table_follows_a_bulk_import_by_reloading(db: &TestDatabase) {
    let store = &db.store;
    let table = RedirectTable::new();
    table.load(store).await.unwrap();
    let mut file = String::from("slug,target,tags\n");
    for n in 0..25_000 {
        file.push_str(&format!("bulk-{n},https://example.org/{n},bulk\n"));
    }
    let (policy, bob) = (policy(), Actor::new("bob", Interface::Cli));
    let imported = transfer::import(store, file.as_bytes(), &importing(&policy, &bob))
        .await
        .unwrap();
    assert_eq!(imported.rows.len(), 25_000);
    table.catch_up(store).await.unwrap();
    assert_eq!(table.len(), 25_000);
    let answer = table.resolve("bulk-24999", None, t0());
    assert!(
        matches!(&answer, Resolution::Redirect { location, .. } if location == "https://example.org/24999"),
        "{answer:?}"
    );
    let tagged = store
        .list_links(&LinkQuery {
            tag: Some(Tag::parse("bulk").unwrap()),
            limit: 5,
            ..LinkQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(tagged.len(), 5);
}

fn links_file(text: &str) -> LinksFile {
    let policy = policy();
    let context = FileContext {
        policy: &policy,
        time_zone: &jiff::tz::TimeZone::UTC,
    };
    LinksFile::parse(text, &context).unwrap()
}

/// The plan as (kind, slug, flagged as a printed link's change).
async fn planned(
    store: &Store,
    file: &LinksFile,
    now: Timestamp,
) -> Vec<(ChangeKind, String, bool)> {
    let plan = links_file::plan(store, file, now).await.unwrap();
    plan.changes
        .iter()
        .map(|c| (c.kind, c.slug.clone(), c.locked))
        .collect()
}

/// A links file with `n` future schedule entries for one link, an hour apart.
fn scheduled_file(n: usize) -> String {
    let entries: Vec<String> = (0..n)
        .map(|i| {
            let at = t0() + SignedDuration::from_hours(1 + i as i64);
            format!("{{ at = \"{at}\", target = \"https://example.org/step-{i}\" }}")
        })
        .collect();
    format!(
        "[[links]]\nslug = \"menu\"\ntarget = \"https://example.org/menu\"\nschedule = [{}]\n",
        entries.join(", ")
    )
}

async fn a_link_holds_at_most_100_pending_schedule_entries_however_they_come(db: &TestDatabase) {
    let store = &db.store;
    let max = qrlink_core::link::MAX_SCHEDULE_ENTRIES;
    let policy = policy();
    let context = FileContext {
        policy: &policy,
        time_zone: &jiff::tz::TimeZone::UTC,
    };
    let Err(Error::Rejected(rejections)) = LinksFile::parse(&scheduled_file(max + 1), &context)
    else {
        panic!("a file with too many entries is refused");
    };
    assert_eq!(
        (
            rejections[0].line,
            rejections[0].invalid.field,
            rejections[0].invalid.rule
        ),
        (1, "schedule", "too_many")
    );
    // The most a file may hold is planned and applied in one go, and again is nothing to do.
    let full = links_file(&scheduled_file(max));
    let ci = Actor::new("ci", Interface::File);
    let started = std::time::Instant::now();
    let plan = links_file::plan(store, &full, t0()).await.unwrap();
    assert_eq!(plan.changes.len(), 1 + max);
    plan.apply(store, &ci, t0(), "applied from links.toml", false)
        .await
        .unwrap();
    println!(
        "{max} schedule entries planned and applied in {:?}",
        started.elapsed()
    );
    assert!(
        links_file::plan(store, &full, t0())
            .await
            .unwrap()
            .changes
            .is_empty()
    );
    // One more through any other front end is refused, and nothing is stored.
    let (menu, one_more) = (slug("menu"), target("https://example.org/one-more"));
    let change = TargetChange {
        at: Some(t0() + SignedDuration::from_hours(1000)),
        ..repoint(&menu, &one_more)
    };
    let more = store.set_target(change, &alice(), t0()).await;
    assert!(
        matches!(&more, Err(Error::Invalid(i)) if i.rule == "too_many"),
        "{more:?}"
    );
    assert_eq!(store.link(&slug("menu")).await.unwrap().schedule.len(), max);
}

async fn a_links_file_is_planned_and_applied_until_nothing_is_left(db: &TestDatabase) {
    use ChangeKind::*;
    let store = &db.store;
    let mut legacy = NewLink::new(Some(slug("legacy")), target("https://example.org/legacy"));
    legacy.tags = vec![Tag::parse("conf").unwrap()];
    store.create_link(&legacy, &alice(), t0()).await.unwrap();
    let mut unrelated = NewLink::new(Some(slug("unrelated")), target("https://example.org/other"));
    unrelated.tags = vec![Tag::parse("other").unwrap()];
    store.create_link(&unrelated, &alice(), t0()).await.unwrap();
    let ci = Actor::new("ci", Interface::File);
    let now = t0();

    let first = links_file(
        r#"
        owns_tags = ["conf"]

        [[links]]
        slug = "talk"
        target = "https://example.org/talk"
        tags = ["conf"]
        locked = true

        [[links]]
        slug = "menu"
        target = "https://example.org/menu"
        tags = ["conf"]
        schedule = [{ at = "2026-06-11 12:00", target = "https://example.org/recap" }]
        "#,
    );
    let own = |kind, s: &str, locked| (kind, s.to_owned(), locked);
    assert_eq!(
        planned(store, &first, now).await,
        [
            own(New, "talk", false),
            own(Lock, "talk", false),
            own(New, "menu", false),
            own(Schedule, "menu", false),
            own(Retire, "legacy", false)
        ],
        "links the file does not name are retired only under an owned tag"
    );
    let plan = links_file::plan(store, &first, now).await.unwrap();
    plan.apply(store, &ci, now, "applied from links.toml", false)
        .await
        .unwrap();
    assert_eq!(
        planned(store, &first, now).await,
        [],
        "applied: nothing is left"
    );
    assert_eq!(
        store.link(&slug("unrelated")).await.unwrap().status,
        LinkStatus::Active
    );
    assert_eq!(
        store.link(&slug("legacy")).await.unwrap().status,
        LinkStatus::Retired
    );

    let second = links_file(
        r#"
        owns_tags = ["conf"]

        [[links]]
        slug = "talk"
        target = "https://example.org/talk-video"
        tags = ["conf"]
        locked = true

        [[links]]
        slug = "lunch"
        renamed_from = "menu"
        title = "Lunch"
        target = "https://example.org/menu"
        tags = ["conf"]
        schedule = [{ at = "2026-06-11T12:00:00Z", target = "https://example.org/recap" }]
        "#,
    );
    let expected = [
        own(Repoint, "talk", true),
        own(Rename, "lunch", false),
        own(Details, "lunch", false),
    ];
    assert_eq!(
        planned(store, &second, now).await,
        expected,
        "exactly the change"
    );
    let plan = links_file::plan(store, &second, now).await.unwrap();
    let refused = plan
        .apply(store, &ci, now, "applied from links.toml", false)
        .await;
    assert!(
        matches!(&refused, Err(Error::Invalid(i)) if i.field == "confirm_locked"),
        "{refused:?}"
    );
    assert_eq!(
        planned(store, &second, now).await,
        expected,
        "a refused apply changes nothing"
    );
    plan.apply(store, &ci, now, "applied from links.toml", true)
        .await
        .unwrap();
    assert_eq!(planned(store, &second, now).await, []);
    let history = store.history(&slug("talk")).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.interface),
        ("ci", Interface::File)
    );
    assert_eq!(last.reason.as_deref(), Some("applied from links.toml"));

    // After the scheduled switch, the entry is in force on both sides: still nothing to do.
    let later = t0() + SignedDuration::from_hours(24 * 11);
    assert_eq!(planned(store, &second, later).await, []);
    // A file that forgets the entry before its time wants it cancelled.
    let forgetful = links_file(
        r#"
        [[links]]
        slug = "lunch"
        title = "Lunch"
        target = "https://example.org/menu"
        tags = ["conf"]
        "#,
    );
    assert_eq!(
        planned(store, &forgetful, now).await,
        [own(Unschedule, "lunch", false)]
    );
}

async fn a_token_works_until_it_expires_or_is_revoked_and_its_user_caps_it(db: &TestDatabase) {
    let store = &db.store;
    let new = |name: &str, scope, user: Option<&str>, expires_at| NewToken {
        name: name.into(),
        scope,
        user: user.map(Into::into),
        expires_at,
    };
    let (ci, secret) = store
        .create_token(&new("ci", Scope::Write, None, None), "alice", t0())
        .await
        .unwrap();
    assert_eq!(
        (ci.prefix.as_str(), ci.scope),
        (&secret.expose()[..10], Scope::Write)
    );
    let caller = store
        .authenticate(&secret, t0())
        .await
        .unwrap()
        .expect("a fresh token works");
    assert_eq!(
        (
            caller.token_name.as_str(),
            caller.scope,
            caller.actor_name()
        ),
        ("ci", Scope::Write, "token ci".into())
    );
    let listed = store.tokens().await.unwrap();
    assert_eq!(listed[0].last_used_at, Some(t0()), "use is recorded");
    assert!(
        store
            .authenticate(&TokenSecret::generate(), t0())
            .await
            .unwrap()
            .is_none(),
        "unknown"
    );

    let later = t0() + SignedDuration::from_hours(1);
    let (_, short) = store
        .create_token(&new("short", Scope::Read, None, Some(later)), "alice", t0())
        .await
        .unwrap();
    assert!(store.authenticate(&short, t0()).await.unwrap().is_some());
    assert!(
        store.authenticate(&short, later).await.unwrap().is_none(),
        "expired at its time"
    );

    store.revoke_token(ci.id, later).await.unwrap();
    assert!(
        store.authenticate(&secret, later).await.unwrap().is_none(),
        "revoked"
    );
    let other_replica = db.reopen().await;
    assert!(
        other_replica
            .authenticate(&secret, later)
            .await
            .unwrap()
            .is_none(),
        "everywhere"
    );
    let refused = store.revoke_token(9999, later).await;
    assert!(
        matches!(&refused, Err(Error::Missing(text)) if text == "there is no token 9999"),
        "{refused:?}"
    );

    store.create_user("vera", Role::Viewer, t0()).await.unwrap();
    store.create_user("adam", Role::Admin, t0()).await.unwrap();
    let users: Vec<(String, Role)> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.name, u.role))
        .collect();
    assert_eq!(
        users,
        [
            ("adam".to_owned(), Role::Admin),
            ("vera".to_owned(), Role::Viewer)
        ]
    );
    let refused = store
        .create_token(
            &new("too-much", Scope::Write, Some("vera"), None),
            "alice",
            t0(),
        )
        .await;
    assert!(
        matches!(&refused, Err(Error::Invalid(i)) if i.rule == "within_role"),
        "{refused:?}"
    );
    let refused = store
        .create_token(
            &new("nobody", Scope::Read, Some("nobody"), None),
            "alice",
            t0(),
        )
        .await;
    assert!(
        matches!(&refused, Err(Error::Invalid(i)) if (i.field, i.rule) == ("user", "exists")),
        "{refused:?}"
    );
    let (_, veras) = store
        .create_token(
            &new("vera-cli", Scope::Read, Some("vera"), None),
            "alice",
            t0(),
        )
        .await
        .unwrap();
    let caller = store.authenticate(&veras, t0()).await.unwrap().unwrap();
    assert_eq!(
        (caller.user.as_deref(), caller.actor_name()),
        (Some("vera"), "vera (token vera-cli)".into())
    );
    let refused = store.create_user("vera", Role::Admin, t0()).await;
    assert!(
        matches!(&refused, Err(Error::Invalid(i)) if i.rule == "unique"),
        "{refused:?}"
    );
}

async fn a_session_ends_when_idle_too_long_at_its_absolute_end_or_at_sign_out(db: &TestDatabase) {
    let store = &db.store;
    let timeouts = SessionTimeouts {
        idle: SignedDuration::from_mins(30),
        absolute: SignedDuration::from_hours(12),
    };
    let ada = store.create_user("ada", Role::Editor, t0()).await.unwrap();
    let minutes = |m: i64| t0() + SignedDuration::from_mins(m);

    let (secret, session) = store.create_session(&ada, timeouts, t0()).await.unwrap();
    assert_eq!(
        (session.user.name.as_str(), session.expires_at),
        ("ada", minutes(12 * 60))
    );
    assert!(
        !format!("{secret:?}").contains(secret.expose()),
        "Debug never shows the secret"
    );
    let parsed = SessionSecret::parse(secret.expose()).expect("the cookie text parses back");
    let found = store
        .session(&parsed, timeouts, minutes(20))
        .await
        .unwrap()
        .expect("in use");
    assert_eq!(found.csrf_token, session.csrf_token);
    assert_eq!(found.last_seen_at, minutes(20));
    // Each use moves the idle deadline on: 20 + 29 minutes is still fine, 20 + 31 is not.
    assert!(
        store
            .session(&secret, timeouts, minutes(49))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .session(&secret, timeouts, minutes(49 + 31))
            .await
            .unwrap()
            .is_none(),
        "idle"
    );

    // Busy all day, a session still ends at its absolute end.
    let (busy, _) = store.create_session(&ada, timeouts, t0()).await.unwrap();
    for m in (20..12 * 60).step_by(20) {
        assert!(
            store
                .session(&busy, timeouts, minutes(m))
                .await
                .unwrap()
                .is_some(),
            "minute {m}"
        );
    }
    assert!(
        store
            .session(&busy, timeouts, minutes(12 * 60))
            .await
            .unwrap()
            .is_none(),
        "absolute"
    );

    let (signed_in, _) = store.create_session(&ada, timeouts, t0()).await.unwrap();
    let (other, _) = store.create_session(&ada, timeouts, t0()).await.unwrap();
    assert_ne!(
        signed_in.expose(),
        other.expose(),
        "a new id at every sign-in"
    );
    store.delete_session(&signed_in).await.unwrap();
    let replica = db.reopen().await;
    assert!(
        replica
            .session(&signed_in, timeouts, minutes(1))
            .await
            .unwrap()
            .is_none(),
        "signed out everywhere"
    );
    assert!(
        replica
            .session(&other, timeouts, minutes(1))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.delete_sessions_of(&ada).await.unwrap(),
        3,
        "every other session of ada's"
    );
    assert!(
        replica
            .session(&other, timeouts, minutes(1))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        SessionSecret::parse("short").is_none() && SessionSecret::parse(&"!".repeat(43)).is_none()
    );
}

/// Signs in through the server's path: a hashing slot, the reservation, the check.
async fn sign_in(store: &Store, name: &str, password: &str, client: &str, at: Timestamp) -> SignIn {
    let work = PasswordWork::new(2, std::time::Duration::from_secs(30));
    accounts::sign_in(store, &work, name, password, client, at)
        .await
        .unwrap()
}

async fn failed_sign_ins_hold_back_one_client_at_one_name_for_longer_each_time(db: &TestDatabase) {
    let store = &db.store;
    let ada = store.create_user("ada", Role::Admin, t0()).await.unwrap();
    let seconds = |s: i64| t0() + SignedDuration::from_secs(s);
    let (attacker, owner) = ("198.51.100.7", "203.0.113.9");
    assert_eq!(
        sign_in(store, "ada", "anything at all", owner, t0()).await,
        SignIn::Refused,
        "no password set yet"
    );
    store
        .set_password(&ada, &hash("correct horse battery"))
        .await
        .unwrap();
    assert!(
        matches!(sign_in(store, "ada", "correct horse battery", owner, t0()).await, SignIn::Accepted(u) if u.name == "ada")
    );
    assert_eq!(
        sign_in(store, "nobody", "correct horse battery", owner, t0()).await,
        SignIn::Refused
    );

    // Four failures in a row cost nothing yet, and a success clears them…
    for _ in 0..4 {
        assert_eq!(
            sign_in(store, "ada", "wrong guess", attacker, seconds(1)).await,
            SignIn::Refused
        );
    }
    assert!(matches!(
        sign_in(store, "ada", "correct horse battery", attacker, seconds(1)).await,
        SignIn::Accepted(_)
    ));
    for _ in 0..5 {
        assert_eq!(
            sign_in(store, "ada", "wrong guess", attacker, seconds(1)).await,
            SignIn::Refused
        );
    }
    // …the fifth in a row holds this client back for a second: even the right password waits,
    // on every replica…
    let blocked = sign_in(store, "ada", "correct horse battery", attacker, seconds(1)).await;
    assert_eq!(blocked, SignIn::Blocked { until: seconds(2) });
    let replica = db.reopen().await;
    assert_eq!(
        sign_in(
            &replica,
            "ada",
            "correct horse battery",
            attacker,
            seconds(1)
        )
        .await,
        blocked,
        "every replica"
    );
    // …but the owner, from another address, signs in meanwhile.
    assert!(matches!(
        sign_in(store, "ada", "correct horse battery", owner, seconds(1)).await,
        SignIn::Accepted(_)
    ));
    assert_eq!(
        sign_in(store, "ada", "wrong guess", attacker, seconds(2)).await,
        SignIn::Refused
    );
    assert_eq!(
        sign_in(store, "ada", "correct horse battery", attacker, seconds(3)).await,
        SignIn::Blocked { until: seconds(4) },
        "the sixth failure blocks for two seconds"
    );
    assert!(matches!(
        sign_in(store, "ada", "correct horse battery", attacker, seconds(4)).await,
        SignIn::Accepted(_)
    ));
    // Success clears the count: the next failure is free again.
    assert_eq!(
        sign_in(store, "ada", "wrong guess", attacker, seconds(5)).await,
        SignIn::Refused
    );

    // A name that does not exist is held back exactly like one that does, so the answers do
    // not tell which names exist.
    for _ in 0..5 {
        assert_eq!(
            sign_in(store, "nobody", "guess", attacker, seconds(10)).await,
            SignIn::Refused
        );
    }
    assert_eq!(
        sign_in(store, "nobody", "guess", attacker, seconds(10)).await,
        SignIn::Blocked { until: seconds(11) }
    );

    // A day after the last attempt, the records of both names hold nothing back and go.
    let pruned = store
        .prune_expired(
            SignedDuration::from_mins(30),
            seconds(10) + SignedDuration::from_hours(25),
        )
        .await
        .unwrap();
    assert!(pruned >= 2, "the stale records of ada and nobody: {pruned}");
}

async fn parallel_wrong_passwords_are_checked_no_more_often_than_the_back_off_allows(
    db: &TestDatabase,
) {
    let store = &db.store;
    let ada = store.create_user("ada", Role::Admin, t0()).await.unwrap();
    store
        .set_password(&ada, &hash("correct horse battery"))
        .await
        .unwrap();
    // As many slots as attempts, so that every attempt reaches the reservation at once.
    let work = PasswordWork::new(40, std::time::Duration::from_secs(60));
    let attempts = (0..40).map(|_| {
        let (store, work) = (store.clone(), work.clone());
        tokio::spawn(async move {
            accounts::sign_in(&store, &work, "ada", "wrong guess", "198.51.100.7", t0())
                .await
                .unwrap()
        })
    });
    let mut checked = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        match attempt.await.unwrap() {
            SignIn::Refused => checked += 1,
            SignIn::Blocked { .. } => {}
            SignIn::Accepted(_) => panic!("a wrong password was accepted"),
        }
    }
    println!("40 parallel wrong passwords: {checked} checked");
    assert_eq!(
        checked,
        accounts::FREE_FAILURES,
        "only the attempts the back-off allows are checked"
    );
}

async fn a_name_has_a_ceiling_across_all_clients_that_refills(db: &TestDatabase) {
    let store = &db.store;
    let burst = accounts::CEILING_BURST;
    // A spread-out attack: one attempt from each of many addresses.
    for n in 0..burst {
        let client = format!("192.0.2.{n}");
        assert!(
            matches!(
                store.reserve_sign_in("ada", &client, t0()).await.unwrap(),
                SignInReservation::Granted(None)
            ),
            "attempt {n}"
        );
    }
    let interval = SignedDuration::try_from(accounts::CEILING_INTERVAL).unwrap();
    assert_eq!(
        store
            .reserve_sign_in("ada", "203.0.113.9", t0())
            .await
            .unwrap(),
        SignInReservation::Blocked {
            until: t0() + interval
        },
    );
    assert!(
        matches!(
            store
                .reserve_sign_in("other", "203.0.113.9", t0())
                .await
                .unwrap(),
            SignInReservation::Granted(_)
        ),
        "other names are not held back"
    );
    assert!(
        matches!(
            store
                .reserve_sign_in("ada", "203.0.113.9", t0() + interval)
                .await
                .unwrap(),
            SignInReservation::Granted(_)
        ),
        "one more after the interval"
    );
    assert!(matches!(
        store
            .reserve_sign_in("ada", "203.0.113.10", t0() + interval)
            .await
            .unwrap(),
        SignInReservation::Blocked { .. }
    ));
}

fn hash(password: &str) -> PasswordHash {
    PasswordHash::create(&Password::parse(password).unwrap())
}

const TIMEOUTS: SessionTimeouts = SessionTimeouts {
    idle: SignedDuration::from_mins(30),
    absolute: SignedDuration::from_hours(12),
};

async fn the_setup_link_creates_the_first_admin_once(db: &TestDatabase) {
    let store = &db.store;
    assert!(!store.has_admin().await.unwrap());
    // Each start of `serve` without an admin issues a setup link; only the newest works.
    let replaced = store.create_password_link(None, t0()).await.unwrap();
    let setup = store.create_password_link(None, t0()).await.unwrap();
    assert_eq!(store.password_link(&replaced, t0()).await.unwrap(), None);
    assert!(
        !format!("{setup:?}").contains(setup.expose()),
        "Debug is redacted"
    );
    let from_cookie = PasswordLinkSecret::parse(setup.expose()).unwrap();
    assert_eq!(
        store.password_link(&from_cookie, t0()).await.unwrap(),
        Some(PasswordLinkFor::FirstAdmin)
    );

    let ada = store
        .use_password_link(&setup, Some("ada"), &hash("a long passphrase"), t0())
        .await
        .unwrap();
    assert_eq!((ada.name.as_str(), ada.role), ("ada", Role::Admin));
    assert!(store.has_admin().await.unwrap());
    assert!(matches!(
        sign_in(store, "ada", "a long passphrase", "192.0.2.1", t0()).await,
        SignIn::Accepted(user) if user == ada
    ));

    // A link works once; a second setup link is dead once an admin exists.
    let again = store
        .use_password_link(&setup, Some("eve"), &hash("another passphrase"), t0())
        .await;
    assert!(
        matches!(&again, Err(Error::Invalid(i)) if i.rule == "unused"),
        "{again:?}"
    );
    let other_setup = store.create_password_link(None, t0()).await.unwrap();
    let late = store
        .use_password_link(&other_setup, Some("eve"), &hash("another passphrase"), t0())
        .await;
    assert!(
        matches!(&late, Err(Error::Invalid(i)) if i.rule == "unused"),
        "{late:?}"
    );
    assert_eq!(store.user("eve").await.unwrap(), None, "nothing was stored");
}

async fn a_password_link_sets_a_password_once_and_ends_the_old_sessions(db: &TestDatabase) {
    let store = &db.store;
    let bo = store.create_user("bo", Role::Editor, t0()).await.unwrap();
    let invite = store.create_password_link(Some(&bo), t0()).await.unwrap();
    assert!(
        matches!(
            sign_in(store, "bo", "", "192.0.2.1", t0()).await,
            SignIn::Refused
        ),
        "no password until the link is used"
    );
    assert_eq!(
        store.password_link(&invite, t0()).await.unwrap(),
        Some(PasswordLinkFor::User(bo.clone()))
    );
    store
        .use_password_link(&invite, None, &hash("first passphrase"), t0())
        .await
        .unwrap();
    let (old_session, _) = store.create_session(&bo, TIMEOUTS, t0()).await.unwrap();

    // A reset: the link expires after a day, and using it ends every session.
    let reset = store.create_password_link(Some(&bo), t0()).await.unwrap();
    let day_later = t0() + SignedDuration::from_hours(24);
    assert_eq!(
        store.password_link(&reset, day_later).await.unwrap(),
        None,
        "expired"
    );
    let expired = store
        .use_password_link(&reset, None, &hash("second passphrase"), day_later)
        .await;
    assert!(
        matches!(&expired, Err(Error::Invalid(i)) if i.rule == "unused"),
        "{expired:?}"
    );
    let forgotten = store.create_password_link(Some(&bo), t0()).await.unwrap();
    let reset = store.create_password_link(Some(&bo), t0()).await.unwrap();
    assert_eq!(
        store.password_link(&forgotten, t0()).await.unwrap(),
        None,
        "a new link ends the earlier one"
    );
    let minute = t0() + SignedDuration::from_mins(1);
    store
        .use_password_link(&reset, None, &hash("second passphrase"), minute)
        .await
        .unwrap();
    assert!(
        store
            .session(&old_session, TIMEOUTS, minute)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        sign_in(store, "bo", "first passphrase", "192.0.2.1", minute).await,
        SignIn::Refused
    ));
    assert!(matches!(
        sign_in(store, "bo", "second passphrase", "192.0.2.1", minute).await,
        SignIn::Accepted(_)
    ));
    assert_eq!(
        store.password_link(&reset, minute).await.unwrap(),
        None,
        "used"
    );
}

async fn a_role_change_ends_sessions_and_the_last_admin_stays(db: &TestDatabase) {
    let store = &db.store;
    let ada = store.create_user("ada", Role::Admin, t0()).await.unwrap();
    let bo = store.create_user("bo", Role::Editor, t0()).await.unwrap();
    let (session, _) = store.create_session(&bo, TIMEOUTS, t0()).await.unwrap();
    let demoted = store.set_role(&bo, Role::Viewer, false).await.unwrap();
    assert_eq!(demoted.role, Role::Viewer);
    assert_eq!(store.user("bo").await.unwrap(), Some(demoted));
    assert!(
        store
            .session(&session, TIMEOUTS, t0())
            .await
            .unwrap()
            .is_none()
    );

    let refused = store.set_role(&ada, Role::Editor, false).await;
    assert!(
        matches!(&refused, Err(Error::Invalid(i)) if i.rule == "last_admin"),
        "{refused:?}"
    );
    store.set_role(&bo, Role::Admin, false).await.unwrap();
    store.set_role(&ada, Role::Editor, true).await.unwrap();
    let ada = store.user("ada").await.unwrap().unwrap();
    assert_eq!((ada.role, ada.all_links), (Role::Editor, true));
}

async fn editors_change_their_own_links_unless_granted_all(db: &TestDatabase) {
    let store = &db.store;
    let bo = store.create_user("bo", Role::Editor, t0()).await.unwrap();
    let cy = store.create_user("cy", Role::Editor, t0()).await.unwrap();
    let vi = store.create_user("vi", Role::Viewer, t0()).await.unwrap();
    let mut new = NewLink::new(Some(slug("bos-link")), target("https://example.org/bo"));
    new.owner = Some("bo".into());
    let owned = store.create_link(&new, &alice(), t0()).await.unwrap();
    let unowned = store
        .create_link(
            &NewLink::new(Some(slug("cli-link")), target("https://example.org/")),
            &alice(),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(owned.owner.as_deref(), Some("bo"));
    assert_eq!(unowned.owner, None);

    assert!(bo.rights().may_change(&owned) && !bo.rights().may_change(&unowned));
    assert!(!cy.rights().may_change(&owned));
    assert!(!vi.rights().may_create() && !vi.rights().may_change(&owned));
    let cy = store.set_role(&cy, Role::Editor, true).await.unwrap();
    assert_eq!(cy.rights(), LinkRights::All);
    assert!(cy.rights().may_change(&owned) && cy.rights().may_change(&unowned));

    // A token can do no more than its user: bo's write token reaches bo's links only.
    let token = |name: &str, scope, user: Option<&str>| NewToken {
        name: name.into(),
        scope,
        user: user.map(Into::into),
        expires_at: None,
    };
    let (_, secret) = store
        .create_token(&token("bo-ci", Scope::Write, Some("bo")), "admin", t0())
        .await
        .unwrap();
    let caller = store.authenticate(&secret, t0()).await.unwrap().unwrap();
    assert_eq!(caller.rights, LinkRights::Own("bo".into()));
    let (_, secret) = store
        .create_token(&token("bo-read", Scope::Read, Some("bo")), "admin", t0())
        .await
        .unwrap();
    assert_eq!(
        store
            .authenticate(&secret, t0())
            .await
            .unwrap()
            .unwrap()
            .rights,
        LinkRights::None
    );
    let (_, secret) = store
        .create_token(&token("deploy", Scope::Write, None), "admin", t0())
        .await
        .unwrap();
    assert_eq!(
        store
            .authenticate(&secret, t0())
            .await
            .unwrap()
            .unwrap()
            .rights,
        LinkRights::All
    );

    let page = store
        .list_page(&LinkQuery {
            owner: Some("bo".into()),
            limit: 10,
            ..LinkQuery::default()
        })
        .await
        .unwrap();
    let slugs: Vec<String> = page
        .links
        .iter()
        .map(|link| link.slug.to_string())
        .collect();
    assert_eq!(slugs, ["bos-link"]);
}

async fn expired_sessions_and_links_are_pruned(db: &TestDatabase) {
    let store = &db.store;
    let ada = store.create_user("ada", Role::Admin, t0()).await.unwrap();
    let later = |hours: i64| t0() + SignedDuration::from_hours(hours);
    let (idle, _) = store.create_session(&ada, TIMEOUTS, t0()).await.unwrap();
    let (busy, _) = store
        .create_session(&ada, TIMEOUTS, later(11))
        .await
        .unwrap();
    let link = store.create_password_link(Some(&ada), t0()).await.unwrap();
    assert_eq!(
        store.prune_expired(TIMEOUTS.idle, later(1)).await.unwrap(),
        1,
        "the idle session"
    );
    assert!(
        store
            .session(&busy, TIMEOUTS, later(11))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .password_link(&link, later(1))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.prune_expired(TIMEOUTS.idle, later(24)).await.unwrap(),
        2,
        "the other session and the link"
    );
    assert!(
        store
            .session(&idle, TIMEOUTS, t0())
            .await
            .unwrap()
            .is_none(),
        "gone, not only expired"
    );
}

async fn a_saved_style_is_kept_replaced_and_forgotten(db: &TestDatabase) {
    let store = &db.store;
    create(store, "talk", "https://example.org/talk").await;
    assert_eq!(store.link_style(&slug("talk")).await.unwrap(), None);
    let style = SavedStyle {
        options: r#"{"shape":"dot"}"#.into(),
        logo_png: Some(vec![0x89, b'P', b'N', b'G', 0, 255]),
    };
    store
        .set_link_style(&slug("talk"), Some(&style), t0())
        .await
        .unwrap();
    store
        .rename(&slug("talk"), &slug("keynote"), &alice(), t0())
        .await
        .unwrap();
    assert_eq!(
        store.link_style(&slug("talk")).await.unwrap(),
        Some(style),
        "found by any slug of the link, bytes intact"
    );
    let plain = SavedStyle {
        options: "{}".into(),
        logo_png: None,
    };
    store
        .set_link_style(&slug("keynote"), Some(&plain), t0())
        .await
        .unwrap();
    assert_eq!(
        store.link_style(&slug("keynote")).await.unwrap(),
        Some(plain)
    );
    store
        .set_link_style(&slug("keynote"), None, t0())
        .await
        .unwrap();
    assert_eq!(store.link_style(&slug("keynote")).await.unwrap(), None);
    let missing = store.set_link_style(&slug("nope"), None, t0()).await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
}

async fn a_blocked_domain_is_refused_by_every_write(db: &TestDatabase) {
    let store = &db.store;
    create(store, "flyer", "https://shop.evil.example/deal").await;
    create(store, "fine", "https://example.org/").await;
    store
        .block_domain("Evil.Example.", "ada", t0())
        .await
        .unwrap();
    store
        .block_domain("evil.example", "ada", t0())
        .await
        .unwrap();
    let listed = store.blocked_domains().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|b| (b.domain.as_str(), b.added_by.as_str()))
            .collect::<Vec<_>>(),
        [("evil.example", "ada")],
        "stored once, normalised"
    );
    for bad in [
        "https://evil.example/x",
        "localhost",
        "evil.example/path",
        "a b.example",
        "evil.example:8080",
    ] {
        let refused = store.block_domain(bad, "ada", t0()).await;
        assert!(
            matches!(&refused, Err(Error::Invalid(i)) if i.field == "domain"),
            "{bad}: {refused:?}"
        );
    }
    let blocked = |result: Result<qrlink_core::link::Link, Error>| matches!(&result, Err(Error::Invalid(i)) if i.rule == "blocked_domain");
    let new = NewLink::new(Some(slug("deal")), target("https://www.evil.example/"));
    assert!(blocked(store.create_link(&new, &alice(), t0()).await));
    let (fine, elsewhere) = (slug("fine"), target("https://evil.example/"));
    assert!(blocked(
        store
            .set_target(repoint(&fine, &elsewhere), &alice(), t0())
            .await
    ));
    let later = TargetChange {
        at: Some(t0() + SignedDuration::from_hours(1)),
        ..repoint(&fine, &elsewhere)
    };
    assert!(
        blocked(store.set_target(later, &alice(), t0()).await),
        "scheduled too"
    );
    let not_below = NewLink::new(Some(slug("notevil")), target("https://notevil.example/"));
    store.create_link(&not_below, &alice(), t0()).await.unwrap();

    // The link that pointed there already stays, but cannot be restored to it once moved away.
    let (flyer, moved) = (slug("flyer"), target("https://example.org/flyer"));
    store
        .set_target(repoint(&flyer, &moved), &alice(), t0())
        .await
        .unwrap();
    let restored = store
        .restore(&flyer, 1, &policy(), false, &alice(), t0())
        .await;
    assert!(blocked(restored));

    // Imports are refused with the line of each record.
    let (policy, bob) = (policy(), Actor::new("bob", Interface::Cli));
    let csv = "slug,target\nok,https://example.org/ok\nbad,https://evil.example/bad\n";
    let refused = transfer::import(store, csv.as_bytes(), &importing(&policy, &bob)).await;
    match refused {
        Err(Error::Rejected(rejections)) => {
            assert_eq!(rejections.len(), 1);
            assert_eq!(
                (rejections[0].line, rejections[0].invalid.rule),
                (3, "blocked_domain")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(store.link(&slug("ok")).await.is_err(), "nothing imported");

    store.unblock_domain("evil.example").await.unwrap();
    store.create_link(&new, &alice(), t0()).await.unwrap();
}

async fn links_are_listed_by_latest_change_a_page_at_a_time(db: &TestDatabase) {
    let store = &db.store;
    let minute = |m: i64| t0() + SignedDuration::from_mins(m);
    for (i, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        let new = NewLink::new(Some(slug(name)), target("https://example.org/"));
        store
            .create_link(&new, &alice(), minute(i as i64))
            .await
            .unwrap();
    }
    // `b` changes last; `c` and `d` change at the same instant (the id breaks the tie).
    let (b, moved) = (slug("b"), target("https://example.org/moved"));
    store
        .set_target(repoint(&b, &moved), &alice(), minute(20))
        .await
        .unwrap();
    let (c, d) = (slug("c"), slug("d"));
    store
        .set_target(repoint(&c, &moved), &alice(), minute(10))
        .await
        .unwrap();
    store
        .set_target(repoint(&d, &moved), &alice(), minute(10))
        .await
        .unwrap();
    let page = |after: Option<&str>| LinkQuery {
        limit: 2,
        after: after.map(slug),
        order: LinkOrder::Changed,
        ..LinkQuery::default()
    };
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let found = store.list_page(&page(after.as_deref())).await.unwrap();
        seen.extend(found.links.iter().map(|l| l.slug.to_string()));
        match found.next_after {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["b", "d", "c", "e", "a"]);
    let searched = LinkQuery {
        search: Some("MOVED".into()),
        order: LinkOrder::Changed,
        limit: 10,
        ..LinkQuery::default()
    };
    let found = store.list_links(&searched).await.unwrap();
    let slugs: Vec<_> = found.iter().map(|l| l.slug.to_string()).collect();
    assert_eq!(slugs, ["b", "d", "c"]);
}

async fn style_presets_are_named_replaced_and_deleted(db: &TestDatabase) {
    let store = &db.store;
    let brand = SavedStyle {
        options: r##"{"dark":"#1f4e79"}"##.into(),
        logo_png: Some(vec![1, 2, 3]),
    };
    let name = store
        .save_style_preset("  Brand blue ", &brand, t0())
        .await
        .unwrap();
    assert_eq!(name, "Brand blue");
    let plain = SavedStyle {
        options: "{}".into(),
        logo_png: None,
    };
    store
        .save_style_preset("Plain", &plain, t0())
        .await
        .unwrap();
    store
        .save_style_preset("Brand blue", &plain, t0())
        .await
        .unwrap();
    assert_eq!(
        store.style_presets().await.unwrap(),
        vec![
            ("Brand blue".to_owned(), plain.clone()),
            ("Plain".to_owned(), plain.clone())
        ]
    );
    for bad in ["", "two\nlines", &"x".repeat(61)] {
        let refused = store.save_style_preset(bad, &brand, t0()).await;
        assert!(
            matches!(&refused, Err(Error::Invalid(i)) if i.field == "preset"),
            "{bad:?}: {refused:?}"
        );
    }
    store.delete_style_preset("Plain").await.unwrap();
    assert_eq!(store.style_presets().await.unwrap().len(), 1);
}

/// Migration 14 rebuilds SQLite's count log keyed by link: counts logged before it are kept,
/// and read and folded as before.
#[tokio::test]
async fn sqlite_counts_logged_before_the_log_was_rebuilt_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect_lazy(StoreLocation::SqliteDir(dir.path())).unwrap();
    store.migrate_up_to(13).await.unwrap();
    let link = create(&store, "talk", "https://example.org/talk").await;
    let old = rusqlite::Connection::open(dir.path().join("qrlink.db")).unwrap();
    for hits in [3, 4] {
        old.execute(
            "INSERT INTO count_log (link_id, day, hits, head_hits, bot_hits) VALUES (?1, '2026-06-01', ?2, 1, 0)",
            rusqlite::params![link.id.0, hits],
        )
        .unwrap();
    }
    drop(old);
    store.migrate().await.unwrap();
    let expected = vec![DailyCount {
        link_id: link.id,
        day: "2026-06-01".parse().unwrap(),
        counts: Counts {
            hits: 7,
            head_hits: 2,
            bot_hits: 0,
        },
    }];
    assert_eq!(store.daily_counts(&slug("talk")).await.unwrap(), expected);
    assert_eq!(store.fold_counts().await.unwrap(), 2);
    assert_eq!(store.daily_counts(&slug("talk")).await.unwrap(), expected);
}

fn mode(file: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(file).unwrap().permissions().mode() & 0o777
}

/// The database holds password hashes and sessions: no other local user may read it.
#[tokio::test]
async fn the_sqlite_database_and_its_wal_are_for_their_owner_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreLocation::SqliteDir(dir.path()))
        .await
        .unwrap();
    create(&store, "talk", "https://example.org/talk").await;
    for file in ["qrlink.db", "qrlink.db-wal", "qrlink.db-shm"] {
        assert_eq!(mode(&dir.path().join(file)), 0o600, "{file}");
    }
    // A database left readable by an older version is tightened when it is opened.
    drop(store);
    use std::os::unix::fs::PermissionsExt;
    let database = dir.path().join("qrlink.db");
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    Store::open(StoreLocation::SqliteDir(dir.path()))
        .await
        .unwrap();
    assert_eq!(mode(&database), 0o600);
}
