//! Where settings come from: flags, then environment variables, then the TOML file named by
//! `--config` (or `QRLINK_CONFIG`), then built-in defaults. The file's keys are the flags'
//! names in snake_case, for the settings every command shares and those of `qrlink serve`.
//!
//! The file is applied by turning its values into clap defaults, so clap itself resolves the
//! precedence and validates every value the same way, whatever its source.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Arg, ArgAction, Command, CommandFactory, FromArgMatches};

use crate::cli::Cli;

/// The subcommand whose settings the file may hold besides the shared ones.
const SERVE: &str = "serve";
/// Settings that only make sense on the command line.
const NOT_IN_FILE: &[&str] = &["config", "help", "version"];

/// Parses the command line with the configuration file applied, and reads `*_FILE` secrets.
pub fn load(args: Vec<OsString>) -> anyhow::Result<Cli> {
    let mut command = Cli::command();
    if let Some(file) = config_file(&args) {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("invalid config: cannot read {}", file.display()))?;
        command = apply(command, &text, &file)?;
    }
    let matches = command
        .try_get_matches_from(args)
        .unwrap_or_else(|e| e.exit());
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Some(file) = cli.instance.database_url_file.take() {
        cli.instance.database_url = Some(read_secret(&file, "database_url_file")?);
    }
    Ok(cli)
}

/// `--config FILE`, `--config=FILE` or `QRLINK_CONFIG`, found before clap runs.
fn config_file(args: &[OsString]) -> Option<PathBuf> {
    let mut args = args.iter().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.to_str().and_then(|a| a.strip_prefix("--config=")) {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("QRLINK_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Makes each setting in the file the default of its flag.
fn apply(mut command: Command, text: &str, file: &Path) -> anyhow::Result<Command> {
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("invalid config: {} is not valid TOML", file.display()))?;
    let shared = keys(&command);
    let serve = keys(serve_command(&command));
    for (key, value) in table {
        // A list (`trusted_proxy = ["10.0.0.0/8", "192.0.2.7"]`) for a repeatable setting.
        if let toml::Value::Array(items) = &value {
            let Some(items) = items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
            else {
                bail!(
                    "invalid config: `{key}` in {} must be a list of strings (rule: list)",
                    file.display()
                );
            };
            let repeatable = serve_command(&command).get_arguments().any(|arg| {
                arg.get_id() == key.as_str() && matches!(arg.get_action(), ArgAction::Append)
            });
            if !repeatable {
                bail!(
                    "invalid config: `{key}` in {} takes one value, not a list (rule: scalar)",
                    file.display()
                );
            }
            command = command.mut_subcommand(SERVE, |serve| {
                serve.mut_arg(key.as_str(), |arg| arg.default_values(items.clone()))
            });
            continue;
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => bail!(
                "invalid config: `{key}` in {} must be a string, number or boolean (rule: scalar)",
                file.display()
            ),
        };
        // The file's value stays out of `--help`: it may be a secret.
        let default = |arg: Arg| {
            let hide = arg.get_action().takes_values();
            arg.default_value(value.clone()).hide_default_value(hide)
        };
        if shared.contains(&key) {
            command = command.mut_arg(key.as_str(), default);
        } else if serve.contains(&key) {
            command = command.mut_subcommand(SERVE, |serve| serve.mut_arg(key.as_str(), default));
        } else {
            let known: Vec<&str> = shared.iter().chain(&serve).map(String::as_str).collect();
            bail!(
                "invalid config: unknown setting `{key}` in {} (rule: known_setting); the settings are {}",
                file.display(),
                known.join(", ")
            );
        }
    }
    Ok(command)
}

fn serve_command(command: &Command) -> &Command {
    command
        .find_subcommand(SERVE)
        .expect("the serve subcommand exists")
}

/// The keys of the settings of a command that a file may hold.
fn keys(command: &Command) -> BTreeSet<String> {
    command
        .get_arguments()
        .map(|arg| arg.get_id().as_str())
        .filter(|id| !NOT_IN_FILE.contains(id))
        .map(str::to_owned)
        .collect()
}

/// A secret from a file: the content without its trailing newline; never logged.
fn read_secret(file: &Path, field: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("invalid {field}: cannot read {}", file.display()))?;
    let secret = text.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        bail!(
            "invalid {field}: {} is empty (rule: not_empty)",
            file.display()
        );
    }
    Ok(secret)
}

/// The configuration reference (`docs/CONFIGURATION.md`), generated from the command line
/// definition so it cannot drift from the code; a test compares it with the committed file.
pub fn reference() -> String {
    let command = Cli::command();
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated from the code by `config::reference`; a test fails when it drifts.\n     \
         Regenerate with `QRLINK_BLESS=1 cargo test -p qrlink config`. -->\n\n\
         Every setting can be given three ways. In order of precedence: a command-line flag, an\n\
         environment variable, or a key in the TOML file named by `--config` (or `QRLINK_CONFIG`);\n\
         otherwise the default applies. Keys are the flags' names in snake_case:\n\n\
         ```toml\n\
         base_url = \"https://go.example.org\"\n\
         database_url_file = \"/run/secrets/database-url\"\n\
         listen = \"0.0.0.0:8080\"\n\
         metrics_listen = \"0.0.0.0:9090\"\n\
         ```\n\n\
         Settings whose variable ends in `_FILE` read a secret from a file (a mounted\n\
         Kubernetes Secret, say), so it appears neither in the environment nor in the process list.\n",
    );
    let sections = [
        ("Shared by every command", &command),
        ("`qrlink serve`", serve_command(&command)),
    ];
    for (title, command) in sections {
        out.push_str(&format!(
            "\n## {title}\n\n| key | flag | variable | default | meaning |\n|---|---|---|---|---|\n"
        ));
        for arg in command.get_arguments().filter(|a| a.get_long().is_some()) {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let key = if NOT_IN_FILE.contains(&id) {
                "(flag or variable only)".to_owned()
            } else {
                format!("`{id}`")
            };
            let env = arg
                .get_env()
                .map(|e| format!("`{}`", e.to_string_lossy()))
                .unwrap_or_default();
            let default = match arg.get_action() {
                ArgAction::SetTrue => "`false`".to_owned(),
                _ => arg
                    .get_default_values()
                    .iter()
                    .map(|v| format!("`{}`", v.to_string_lossy()))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let mut help = arg
                .get_long_help()
                .or(arg.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default()
                .replace('\n', " ")
                .replace('|', "\\|");
            if !help.is_empty() {
                help.push('.');
            }
            let values: Vec<String> = arg
                .get_possible_values()
                .iter()
                .map(|v| format!("`{}`", v.get_name()))
                .collect();
            if !values.is_empty() && arg.get_action().takes_values() {
                help.push_str(&format!(" One of {}.", values.join(", ")));
            }
            out.push_str(&format!(
                "| {key} | `--{}` | {env} | {default} | {help} |\n",
                arg.get_long().expect("filtered on long flags")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(file_text: &str, args: &[&str]) -> anyhow::Result<Cli> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("qrlink.toml");
        std::fs::write(&file, file_text).unwrap();
        let mut argv: Vec<OsString> = vec!["qrlink".into(), "--config".into(), file.into()];
        argv.extend(args.iter().map(OsString::from));
        load(argv)
    }

    fn serve_args(cli: &Cli) -> &crate::cli::ServeArgs {
        match &cli.command {
            crate::cli::Command::Serve(args) => args,
            _ => panic!("not serve"),
        }
    }

    #[test]
    fn the_file_sets_defaults_that_flags_override() {
        let text = "base_url = \"https://go.example.org\"\nlisten = \"0.0.0.0:9999\"\n\
                    access_log = true\nflush_interval_ms = 2000\n";
        let cli = load_with(text, &["serve"]).unwrap();
        assert_eq!(cli.instance.base_url, "https://go.example.org");
        assert_eq!(serve_args(&cli).listen.to_string(), "0.0.0.0:9999");
        assert!(serve_args(&cli).access_log);
        assert_eq!(serve_args(&cli).flush_interval_ms, 2000);

        let cli = load_with(text, &["serve", "--listen", "127.0.0.1:1"]).unwrap();
        assert_eq!(
            serve_args(&cli).listen.to_string(),
            "127.0.0.1:1",
            "a flag beats the file"
        );
    }

    #[test]
    fn unknown_keys_and_tables_are_refused_with_the_rule() {
        let error = load_with("bse_url = \"x\"\n", &["serve"])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("unknown setting `bse_url`") && error.contains("rule: known_setting"),
            "{error}"
        );
        let error = load_with("[serve]\nlisten = \"x\"\n", &["serve"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("rule: scalar"), "{error}");
        let error = load_with("config = \"other.toml\"\n", &["serve"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown setting `config`"), "{error}");
        let error = load_with("base_url = [", &["serve"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("not valid TOML"), "{error}");
    }

    #[test]
    fn the_database_url_can_come_from_a_secret_file() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("database-url");
        std::fs::write(&secret, "postgres://qrlink:s3cret@db/qrlink\n").unwrap();
        let text = format!("database_url_file = {:?}\n", secret.to_str().unwrap());
        let cli = load_with(&text, &["serve"]).unwrap();
        assert_eq!(
            cli.instance.database_url.as_deref(),
            Some("postgres://qrlink:s3cret@db/qrlink")
        );
        std::fs::write(&secret, "\n").unwrap();
        let error = load_with(&text, &["serve"]).unwrap_err().to_string();
        assert!(error.contains("invalid database_url_file"), "{error}");
    }

    /// The deployment's settings file uses only settings that exist, with valid values.
    #[test]
    fn the_kubernetes_config_file_is_valid() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kubernetes/base/config.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let cli = load_with(&text, &["serve"]).unwrap();
        assert!(serve_args(&cli).metrics_listen.is_some());
    }

    /// The committed reference is what the code generates; `QRLINK_BLESS=1` rewrites it.
    #[test]
    fn the_configuration_reference_matches_the_code() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CONFIGURATION.md");
        let generated = reference();
        if std::env::var_os("QRLINK_BLESS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/CONFIGURATION.md is out of date: run `QRLINK_BLESS=1 cargo test -p qrlink config`"
        );
    }
}
