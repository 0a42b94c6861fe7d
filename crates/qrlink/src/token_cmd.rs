//! `qrlink token …`: API tokens, created, listed and revoked from the command line.

use jiff::SignedDuration;
use qrlink_core::accounts::{NewToken, Scope, TokenInfo, parse_token_name, parse_user_name};
use qrlink_core::clock::Clock;
use qrlink_core::store::Store;

use crate::cli::TokenCommand;
use crate::link_cmd::os_user;

pub async fn run(command: TokenCommand, store: &Store, clock: &Clock) -> anyhow::Result<()> {
    let now = clock.now();
    match command {
        TokenCommand::Create {
            name,
            scope,
            expires,
            user,
        } => {
            let expires_at = match expires {
                Some(text) => Some(now + parse_duration(&text)?),
                None => None,
            };
            let new = NewToken {
                name: parse_token_name(&name)?,
                scope: Scope::parse(&scope)?,
                user: user.as_deref().map(parse_user_name).transpose()?,
                expires_at,
            };
            let (info, secret) = store.create_token(&new, &os_user(), now).await?;
            eprintln!(
                "token {} `{}` ({} scope{}{}); shown once, keep it secret:",
                info.id,
                info.name,
                info.scope.as_str(),
                info.user
                    .as_deref()
                    .map(|user| format!(", capped by user {user}"))
                    .unwrap_or_default(),
                info.expires_at
                    .map(|at| format!(", expires {at}"))
                    .unwrap_or_default(),
            );
            // Alone on the last line of standard output, for scripts.
            println!("{}", secret.expose());
            Ok(())
        }
        TokenCommand::List { json } => {
            let tokens = store.tokens().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                for token in &tokens {
                    println!("{}", describe(token, now));
                }
            }
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            store.revoke_token(id, now).await?;
            println!("token {id} revoked");
            Ok(())
        }
    }
}

fn describe(token: &TokenInfo, now: jiff::Timestamp) -> String {
    let state = match (token.revoked_at, token.expires_at) {
        (Some(at), _) => format!("revoked {at}"),
        (None, Some(at)) if at <= now => format!("expired {at}"),
        (None, Some(at)) => format!("expires {at}"),
        (None, None) => "no expiry".to_owned(),
    };
    let used = token
        .last_used_at
        .map_or("never used".to_owned(), |at| format!("last used {at}"));
    format!(
        "{:>4}  {}…  {:<5}  {}  {}{}  {state}, {used}",
        token.id,
        token.prefix,
        token.scope.as_str(),
        token.name,
        token.created_by,
        token
            .user
            .as_deref()
            .map(|user| format!(" for {user}"))
            .unwrap_or_default(),
    )
}

/// A duration like `90m`, `12h`, `30d` or `2w`, longer than zero and at most ten years.
fn parse_duration(text: &str) -> anyhow::Result<SignedDuration> {
    let invalid = || {
        anyhow::anyhow!(
            "invalid expires: `{}` is not a duration like 90m, 12h, 30d or 2w, up to ten years (rule: duration)",
            text.escape_debug()
        )
    };
    let text = text.trim();
    let unit_at = text
        .char_indices()
        .last()
        .map(|(at, _)| at)
        .ok_or_else(invalid)?;
    let (number, unit) = text.split_at(unit_at);
    let number: i64 = number.parse().map_err(|_| invalid())?;
    let minutes_per_unit = match unit {
        "m" => 1,
        "h" => 60,
        "d" => 24 * 60,
        "w" => 7 * 24 * 60,
        _ => return Err(invalid()),
    };
    let minutes = number
        .checked_mul(minutes_per_unit)
        .filter(|minutes| (1..=10 * 366 * 24 * 60).contains(minutes))
        .ok_or_else(invalid)?;
    Ok(SignedDuration::from_mins(minutes))
}
