//! `qrlink export` and `qrlink import` as a person uses them: files from other shorteners,
//! malformed rows reported by line with nothing stored, and exports that read back exactly.

use std::path::Path;

use qrlink_core::link::LinkStatus;
use qrlink_core::store::{LinkQuery, Store, StoreLocation};

use crate::support::*;

/// Runs `qrlink` on the SQLite database in `data_dir`; returns (success, stdout, stderr).
async fn qrlink(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let data_dir = data_dir.to_str().unwrap();
    run_qrlink(&[&["--data-dir", data_dir], args].concat()).await
}

fn sample(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/import")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn sample_without_line(name: &str, line: usize) -> String {
    sample(name)
        .lines()
        .enumerate()
        .filter(|(index, _)| index + 1 != line)
        .map(|(_, text)| format!("{text}\n"))
        .collect()
}

async fn links_in(data_dir: &Path) -> Vec<qrlink_core::link::Link> {
    let store = Store::open(StoreLocation::SqliteDir(data_dir))
        .await
        .unwrap();
    let links = store
        .list_links(&LinkQuery {
            limit: 100,
            ..LinkQuery::default()
        })
        .await
        .unwrap();
    store.close().await;
    links
}

/// Each sample is a real-looking export with one bad row. The import names that row and
/// stores nothing; without it, every link arrives with its target, title, tags and status.
#[tokio::test]
async fn exports_of_other_shorteners_are_imported_by_their_columns() {
    let cases = [
        ("shlink.csv", 4, "rule: scheme", "Shlink CSV"),
        ("yourls.csv", 3, "rule: alphabet", "YOURLS CSV"),
        ("kutt.csv", 4, "rule: columns", "Kutt CSV"),
        (
            "bitly.csv",
            4,
            "appears twice in the file (first on line 2)",
            "Bitly CSV",
        ),
    ];
    for (name, bad_line, reason, source) in cases {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(name);
        std::fs::write(&file, sample(name)).unwrap();
        let (ok, stdout, stderr) = qrlink(
            &dir.path().join("data"),
            &["import", file.to_str().unwrap()],
        )
        .await;
        assert!(!ok, "{name}: {stdout}");
        let expected = format!("{}: line {bad_line}: ", file.display());
        assert!(
            stderr.contains(&expected) && stderr.contains(reason),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains("1 record(s) rejected; nothing was imported"),
            "{name}: {stderr}"
        );
        assert!(
            links_in(&dir.path().join("data")).await.is_empty(),
            "{name}: nothing stored"
        );

        std::fs::write(&file, sample_without_line(name, bad_line)).unwrap();
        let (ok, stdout, stderr) = qrlink(
            &dir.path().join("data"),
            &["import", file.to_str().unwrap()],
        )
        .await;
        assert!(ok, "{name}: {stderr}");
        assert!(stdout.contains(&format!("({source})")), "{name}: {stdout}");
    }
}

#[tokio::test]
async fn imported_links_keep_what_the_other_shortener_knew() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (name, bad) in [("shlink.csv", 4), ("bitly.csv", 4)] {
        let file = dir.path().join(name);
        std::fs::write(&file, sample_without_line(name, bad)).unwrap();
        let (ok, _, stderr) = qrlink(&data, &["import", file.to_str().unwrap()]).await;
        assert!(ok, "{name}: {stderr}");
    }
    let links = links_in(&data).await;
    let by_slug = |s: &str| {
        links
            .iter()
            .find(|l| l.slug.as_str() == s)
            .unwrap_or_else(|| panic!("{s}"))
    };
    let keynote = by_slug("keynote");
    assert_eq!(
        keynote.target.as_str(),
        "https://video.example.org/watch?v=abc123&t=42"
    );
    assert_eq!(keynote.title, "Keynote video, part 1");
    let tags: Vec<&str> = keynote.tags.iter().map(|t| t.as_str()).collect();
    assert_eq!(tags, ["pycon", "video"], "Shlink separates tags with `|`");
    let sale = by_slug("3xyzabc");
    assert_eq!(sale.target.as_str(), "https://shop.example.com/spring-sale");
    let tags: Vec<&str> = sale.tags.iter().map(|t| t.as_str()).collect();
    assert_eq!(tags, ["campaign", "spring"]);
    assert_eq!(
        by_slug("old-promo").status,
        LinkStatus::Retired,
        "archived in Bitly"
    );
    assert_eq!(links.len(), 5);
}

#[tokio::test]
async fn an_export_written_to_a_file_imports_into_a_new_instance() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    for args in [
        &[
            "link",
            "add",
            "talk",
            "https://example.org/talk",
            "--title",
            "=cmd|' /C calc'!A0",
            "--tag",
            "pycon",
        ][..],
        &["link", "add", "menu", "https://example.org/menu"][..],
        &[
            "link",
            "set-target",
            "menu",
            "https://example.org/menu-v2",
            "--reason",
            "new dishes",
        ][..],
        &["link", "lock", "menu"][..],
    ] {
        let (ok, _, stderr) = qrlink(&first, args).await;
        assert!(ok, "{args:?}: {stderr}");
    }
    for format in ["json", "csv"] {
        let file = dir.path().join(format!("links.{format}"));
        let file = file.to_str().unwrap();
        let (ok, _, stderr) = qrlink(&first, &["export", "--format", format, "-o", file]).await;
        assert!(ok && stderr.contains("exported 2 links"), "{stderr}");
        let (ok, stdout, _) = qrlink(&first, &["export", "--format", format]).await;
        assert!(ok);
        assert_eq!(
            std::fs::read_to_string(file).unwrap(),
            stdout,
            "the file is what stdout gets"
        );
        if format == "csv" {
            assert!(
                stdout.contains(",'=cmd|' /C calc'!A0,"),
                "a formula is neutralised: {stdout}"
            );
        }
        let target = second.join(format);
        let (ok, stdout, stderr) = qrlink(&target, &["import", file]).await;
        assert!(
            ok && stdout.contains("imported 2 links"),
            "{stdout}{stderr}"
        );
        let (_, again, _) = qrlink(&target, &["export", "--format", format]).await;
        if format == "json" {
            assert_eq!(
                again,
                std::fs::read_to_string(file).unwrap(),
                "JSON restores everything"
            );
        }
        let (ok, _, stderr) = qrlink(&target, &["import", file]).await;
        assert!(
            !ok && stderr.contains("rule: taken"),
            "importing twice overwrites nothing: {stderr}"
        );
    }
}
