//! `qrlink plan` and `qrlink apply` from a shell, as a CI job runs them: exit 2 while changes
//! are pending and 0 once applied, invalid links reported by line, nothing half applied.

use std::path::Path;

use crate::support::*;

async fn qrlink(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let data_dir = data_dir.to_str().unwrap();
    run_qrlink(&[&["--data-dir", data_dir], args].concat()).await
}

/// Runs `qrlink` and returns its exit code and standard output.
async fn exit_code(data_dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_qrlink"))
        .args([
            "--base-url",
            "https://go.example.org",
            "--data-dir",
            data_dir.to_str().unwrap(),
        ])
        .args(args)
        .env("USER", "ci")
        .output()
        .await
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[tokio::test]
async fn plan_exits_2_until_apply_makes_the_database_match_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("links.toml");
    let file_arg = file.to_str().unwrap();
    std::fs::write(
        &file,
        "[[links]]\nslug = \"talk\"\ntarget = \"https://example.org/talk\"\nlocked = true\n\n\
         [[links]]\nslug = \"menu\"\ntarget = \"https://example.org/menu\"\n",
    )
    .unwrap();
    let (code, stdout) = exit_code(&data, &["plan", file_arg]).await;
    assert_eq!(code, Some(2), "{stdout}");
    assert!(
        stdout.contains("+ new        talk: → https://example.org/talk"),
        "{stdout}"
    );
    assert!(stdout.contains("~ lock       talk"), "{stdout}");
    let (code, stdout) = exit_code(&data, &["apply", file_arg]).await;
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("applied 3 change(s)"), "{stdout}");
    let (code, stdout) = exit_code(&data, &["plan", file_arg]).await;
    assert_eq!(
        (code, stdout.trim()),
        (
            Some(0),
            format!("no changes: the database matches {file_arg}").as_str()
        )
    );

    let edited = std::fs::read_to_string(&file)
        .unwrap()
        .replace("example.org/talk", "example.org/talk-video");
    std::fs::write(&file, edited).unwrap();
    let (code, stdout) = exit_code(&data, &["plan", file_arg, "--json"]).await;
    assert_eq!(code, Some(2));
    let changes: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        changes,
        serde_json::json!([{
            "kind": "repoint",
            "slug": "talk",
            "detail": "https://example.org/talk → https://example.org/talk-video",
            "locked": true
        }])
    );
    let (ok, _, stderr) = qrlink(&data, &["apply", file_arg]).await;
    assert!(
        !ok && stderr.contains("--confirm-locked") && stderr.contains("talk"),
        "{stderr}"
    );
    let (code, _) = exit_code(&data, &["plan", file_arg]).await;
    assert_eq!(code, Some(2), "the refused apply changed nothing");
    let (ok, _, stderr) = qrlink(&data, &["apply", file_arg, "--confirm-locked"]).await;
    assert!(ok, "{stderr}");
    let (code, _) = exit_code(&data, &["plan", file_arg]).await;
    assert_eq!(code, Some(0));
    let (_, history, _) = qrlink(&data, &["link", "history", "talk"]).await;
    assert!(history.contains("applied from links.toml"), "{history}");
}

#[tokio::test]
async fn invalid_links_in_a_file_are_reported_by_line_and_nothing_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("links.toml");
    std::fs::write(
        &file,
        "[[links]]\nslug = \"fine\"\ntarget = \"https://example.org/fine\"\n\n\
         [[links]]\nslug = \"loop\"\ntarget = \"https://go.example.org/fine\"\n\n\
         [[links]]\nslug = \"typo\"\ntarget = \"https://example.org/typo\"\ntitel = \"Typo\"\n\n\
         [[links]]\nslug = \"gap\"\ntarget = \"https://example.org/gap\"\n\
         schedule = [{ at = \"2026-03-29 02:30 Europe/Berlin\", retire = true }]\n",
    )
    .unwrap();
    let file_arg = file.to_str().unwrap();
    let (ok, _, stderr) = qrlink(&data, &["apply", file_arg]).await;
    assert!(!ok);
    assert!(
        stderr.contains(&format!("{file_arg}: line 5: invalid target"))
            && stderr.contains("rule: loop"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{file_arg}: line 9: ")) && stderr.contains("titel"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{file_arg}: line 14: ")),
        "{stderr}"
    );
    let (_, list, _) = qrlink(&data, &["link", "list"]).await;
    assert!(!list.contains("fine"), "nothing applied: {list}");
}
