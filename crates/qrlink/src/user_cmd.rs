//! `qrlink user …`: accounts from the command line, for the first admin and for recovery.
//! A password is never taken as an argument (it would land in shell history and `ps`): adding
//! a user or resetting a password prints a one-time link where the person chooses it.

use qrlink_core::accounts::{Role, User, parse_user_name};
use qrlink_core::clock::Clock;
use qrlink_core::store::Store;

use crate::cli::UserCommand;
use crate::instance::Instance;

pub async fn run(
    command: UserCommand,
    store: &Store,
    instance: &Instance,
    clock: &Clock,
) -> anyhow::Result<()> {
    let now = clock.now();
    match command {
        UserCommand::Add { name, role } => {
            let name = parse_user_name(&name)?;
            let user = store.create_user(&name, Role::parse(&role)?, now).await?;
            let secret = store.create_password_link(Some(&user), now).await?;
            eprintln!(
                "user {} added as {}; they choose their password at this one-time link (valid 24 hours):",
                user.name,
                user.role.as_str()
            );
            println!("{}", crate::server::password_url(instance, &secret));
            Ok(())
        }
        UserCommand::ResetPassword { name } => {
            let user = existing(store, &name).await?;
            let secret = store.create_password_link(Some(&user), now).await?;
            eprintln!(
                "{} sets a new password at this one-time link (valid 24 hours); their sessions end when they do:",
                user.name
            );
            println!("{}", crate::server::password_url(instance, &secret));
            Ok(())
        }
        UserCommand::Role {
            name,
            role,
            all_links,
        } => {
            let user = existing(store, &name).await?;
            let user = store
                .set_role(&user, Role::parse(&role)?, all_links)
                .await?;
            println!("{}", describe(&user));
            Ok(())
        }
        UserCommand::List { json } => {
            let users = store.users().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                for user in &users {
                    println!("{}", describe(user));
                }
            }
            Ok(())
        }
    }
}

async fn existing(store: &Store, name: &str) -> anyhow::Result<User> {
    let name = parse_user_name(name)?;
    store.user(&name).await?.ok_or_else(|| {
        anyhow::anyhow!("invalid user: there is no user named `{name}` (rule: exists)")
    })
}

fn describe(user: &User) -> String {
    let grant = if user.all_links && user.role == Role::Editor {
        ", all links"
    } else {
        ""
    };
    format!("{}\t{}{grant}", user.name, user.role.as_str())
}
