//! Who may do what: users with roles (R-SEC-1) and API tokens (R-SEC-5).
//!
//! A token is a service identity with a scope. Tied to a user, it can do no more than that
//! user's role allows, evaluated at every request, so demoting the user demotes the token.
//! Only a token's SHA-256 hash is stored; the secret is shown once, when it is created.

use std::fmt;

use jiff::Timestamp;
use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::Invalid;
pub use crate::passwords::{Password, PasswordHash};

/// What a token may do; each scope includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    pub fn parse(input: &str) -> Result<Scope, Invalid> {
        match input {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            "admin" => Ok(Scope::Admin),
            _ => Err(Invalid::new(
                "scope",
                "one_of",
                "the scope is `read`, `write` or `admin`",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

/// A user's role: admins do everything, editors change links, viewers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Editor,
    Viewer,
}

impl Role {
    pub fn parse(input: &str) -> Result<Role, Invalid> {
        match input {
            "admin" => Ok(Role::Admin),
            "editor" => Ok(Role::Editor),
            "viewer" => Ok(Role::Viewer),
            _ => Err(Invalid::new(
                "role",
                "one_of",
                "the role is `admin`, `editor` or `viewer`",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    /// The widest token scope this role allows.
    pub fn max_scope(self) -> Scope {
        match self {
            Role::Admin => Scope::Admin,
            Role::Editor => Scope::Write,
            Role::Viewer => Scope::Read,
        }
    }

    pub(crate) fn from_stored(stored: &str) -> Role {
        Role::parse(stored).unwrap_or(Role::Viewer)
    }
}

/// A user name: 1 to 64 characters of `[a-z0-9._-]`, lowercase, so names compare plainly.
pub fn parse_user_name(input: &str) -> Result<String, Invalid> {
    let name = input.trim().to_ascii_lowercase();
    if name.is_empty() || name.len() > 64 {
        return Err(Invalid::new(
            "user",
            "length",
            "a user name has 1 to 64 characters",
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    {
        return Err(Invalid::new(
            "user",
            "alphabet",
            "a user name may contain only letters a-z, digits, `.`, `_` and `-`",
        ));
    }
    Ok(name)
}

/// A token's name (what uses it: `ci-deploy`): one line of 1 to 200 characters.
pub fn parse_token_name(input: &str) -> Result<String, Invalid> {
    let name = crate::link::parse_text("name", input, crate::link::MAX_TITLE, false)?;
    if name.is_empty() {
        return Err(Invalid::new("name", "required", "a token needs a name"));
    }
    Ok(name)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// An editor an admin granted every link to, not only their own.
    pub all_links: bool,
    pub created_at: Timestamp,
}

impl User {
    /// Which links this user may change (R-SEC-1).
    pub fn rights(&self) -> LinkRights {
        match self.role {
            Role::Admin => LinkRights::All,
            Role::Editor if self.all_links => LinkRights::All,
            Role::Editor => LinkRights::Own(self.name.clone()),
            Role::Viewer => LinkRights::None,
        }
    }
}

/// Which links someone may create and change: none (viewers, read tokens), those they own
/// (editors), or all (admins, editors granted all links, write tokens of no user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRights {
    None,
    Own(String),
    All,
}

impl LinkRights {
    pub fn may_create(&self) -> bool {
        !matches!(self, LinkRights::None)
    }

    /// Whether `link` may be changed: re-pointed, edited, locked, retired, renamed.
    pub fn may_change(&self, link: &crate::link::Link) -> bool {
        match self {
            LinkRights::None => false,
            LinkRights::Own(name) => link.owner.as_deref() == Some(name.as_str()),
            LinkRights::All => true,
        }
    }

    /// The narrower of two rights: a token can do no more than its user.
    fn within(self, cap: LinkRights) -> LinkRights {
        match (self, cap) {
            (LinkRights::None, _) | (_, LinkRights::None) => LinkRights::None,
            (LinkRights::Own(name), _) | (_, LinkRights::Own(name)) => LinkRights::Own(name),
            (LinkRights::All, LinkRights::All) => LinkRights::All,
        }
    }
}

/// A token to be created. The name says what uses it (`ci-deploy`); history names it.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub scope: Scope,
    /// The user whose role caps the token.
    pub user: Option<String>,
    pub expires_at: Option<Timestamp>,
}

/// What is stored and shown of a token: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    /// `qrl_` and the first characters of the secret.
    pub prefix: String,
    pub scope: Scope,
    pub user: Option<String>,
    pub created_at: Timestamp,
    pub created_by: String,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

/// A token's secret, shown once. Its `Debug` form is redacted so no log can carry it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// `qrl_` and 43 base62 characters: 256 bits from the operating system's generator.
    pub fn generate() -> TokenSecret {
        TokenSecret(format!("{TOKEN_PREFIX}{}", random_base62()))
    }

    /// Accepts text of the token form only; anything else cannot be a token.
    pub fn parse(text: &str) -> Option<TokenSecret> {
        let secret = text.strip_prefix(TOKEN_PREFIX)?;
        (secret.len() == TOKEN_CHARS && secret.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| TokenSecret(text.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the whole token, in hex: what the database keeps.
    pub(crate) fn hash(&self) -> String {
        sha256_hex(&self.0)
    }

    pub(crate) fn display_prefix(&self) -> String {
        self.0[..TOKEN_PREFIX.len() + 6].to_owned()
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenSecret({}…)", &self.0[..TOKEN_PREFIX.len()])
    }
}

const TOKEN_PREFIX: &str = "qrl_";
/// 43 base62 characters carry 256 bits.
const TOKEN_CHARS: usize = 43;

/// [`TOKEN_CHARS`] random base62 characters from the operating system's generator (`rand`'s
/// thread generator is a CSPRNG seeded from it).
fn random_base62() -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    (0..TOKEN_CHARS)
        .map(|_| BASE62[rng.random_range(0..BASE62.len())] as char)
        .collect()
}

/// 256 random bits as 43 base62 characters: for tokens that pair a form with a cookie.
pub fn random_token() -> String {
    random_base62()
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The secret a session cookie carries; only its hash is stored. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(String);

impl SessionSecret {
    pub(crate) fn generate() -> SessionSecret {
        SessionSecret(random_base62())
    }

    /// Accepts cookie text of the session form only.
    pub fn parse(text: &str) -> Option<SessionSecret> {
        (text.len() == TOKEN_CHARS && text.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| SessionSecret(text.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn hash(&self) -> String {
        sha256_hex(&self.0)
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(…)")
    }
}

/// The secret of a one-time link that lets a person set their password (first-run setup, a
/// new user, a reset). It travels in the link's path; only its hash is stored, and the link
/// is deleted when used. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordLinkSecret(String);

impl PasswordLinkSecret {
    pub(crate) fn generate() -> PasswordLinkSecret {
        PasswordLinkSecret(random_base62())
    }

    pub fn parse(text: &str) -> Option<PasswordLinkSecret> {
        SessionSecret::parse(text).map(|secret| PasswordLinkSecret(secret.0))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn hash(&self) -> String {
        sha256_hex(&self.0)
    }
}

impl fmt::Debug for PasswordLinkSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordLinkSecret(…)")
    }
}

/// What a valid password link is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordLinkFor {
    /// First-run setup: no admin exists; the person chooses a name and becomes the admin.
    FirstAdmin,
    /// A user added by an admin, or one whose password is being reset.
    User(User),
}

/// How long a password link stays usable.
pub const PASSWORD_LINK_LIFETIME: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// How long a session lasts: `idle` after its last request, and `absolute` at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimeouts {
    pub idle: jiff::SignedDuration,
    pub absolute: jiff::SignedDuration,
}

/// A signed-in user's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    /// The synchronizer token every unsafe request of this session must carry (R-SEC-3).
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Who is calling through the API: a valid token, with its scope capped by its user's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: i64,
    pub token_name: String,
    pub scope: Scope,
    pub user: Option<String>,
    /// The links this caller may change: its scope's, narrowed to its user's.
    pub rights: LinkRights,
}

impl Caller {
    /// A caller's rights from its token's scope and, if it has one, its user's rights.
    pub(crate) fn rights_of(scope: Scope, user: Option<&User>) -> LinkRights {
        let by_scope = if scope >= Scope::Write {
            LinkRights::All
        } else {
            LinkRights::None
        };
        match user {
            Some(user) => by_scope.within(user.rights()),
            None => by_scope,
        }
    }

    /// The name history and audit record for this caller's changes.
    pub fn actor_name(&self) -> String {
        match &self.user {
            Some(user) => format!("{user} (token {})", self.token_name),
            None => format!("token {}", self.token_name),
        }
    }
}

/// The outcome of a sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    Accepted(User),
    /// An unknown name, an account whose setup is not finished, or a wrong password: one
    /// answer for all three, given after the same work, so names cannot be probed.
    Refused,
    /// Too many failures in a row at this name from this client, or at this name from every
    /// client together: no password is even checked before `until`. Unknown names are held
    /// back the same way as known ones.
    Blocked {
        until: Timestamp,
    },
}

/// What the store answers before a password is checked: the attempt is counted, or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInReservation {
    Blocked {
        until: Timestamp,
    },
    /// Counted as a failure until [`Store::forget_sign_in_failures`](crate::store::Store)
    /// takes it back; the account and its password hash, when the name is known.
    Granted(Option<(User, Option<PasswordHash>)>),
}

/// The failure in a row from one client that first blocks: the four before it cost nothing,
/// it blocks that client's next attempt at the name for 1 s, and each further one for twice
/// as long as the one before (2 s, 4 s…), up to [`MAX_BLOCK`].
pub const FREE_FAILURES: i64 = 5;
pub const MAX_BLOCK: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);

/// Attempts at one name from every client together: [`CEILING_BURST`] at once, then one more
/// every [`CEILING_INTERVAL`] (100 an hour). Only a spread-out attack reaches it; one client
/// is held back by its own back-off long before.
pub const CEILING_BURST: i64 = 100;
pub const CEILING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(36);

/// How long `failures` failed sign-ins in a row block the next attempt from the same client
/// (what the store's upsert computes in SQL).
pub fn block_after(failures: i64) -> Option<jiff::SignedDuration> {
    let doublings = u32::try_from(failures - FREE_FAILURES).ok()?;
    let seconds = 1_i64.checked_shl(doublings.min(30)).unwrap_or(i64::MAX);
    Some(jiff::SignedDuration::from_secs(seconds).min(MAX_BLOCK))
}

/// Signs `name` in with `password` from `client` (an address block; see the server's
/// `ClientAddress`). A slot for the hash is taken first, so a busy server refuses without
/// counting the attempt; then the attempt is reserved, the password checked, and the
/// reservation taken back if it was right.
pub async fn sign_in(
    store: &crate::store::Store,
    work: &crate::passwords::PasswordWork,
    name: &str,
    password: &str,
    client: &str,
    now: Timestamp,
) -> crate::Result<SignIn> {
    let slot = work.slot().await?;
    let account = match store.reserve_sign_in(name, client, now).await? {
        SignInReservation::Blocked { until } => return Ok(SignIn::Blocked { until }),
        SignInReservation::Granted(account) => account,
    };
    let (user, hash) = match account {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let verified = slot.verify(hash.clone(), password).await && hash.is_some();
    match user {
        Some(user) if verified => {
            store.forget_sign_in_failures(name, client).await?;
            Ok(SignIn::Accepted(user))
        }
        _ => Ok(SignIn::Refused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_qrl_and_43_base62_characters_and_parses_back() {
        let token = TokenSecret::generate();
        let text = token.expose();
        assert_eq!(text.len(), 4 + 43);
        assert!(text.starts_with("qrl_") && text[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(TokenSecret::parse(text), Some(token.clone()));
        assert_ne!(TokenSecret::generate(), token, "each token is new");
        assert!(
            !format!("{token:?}").contains(&text[4..]),
            "Debug never shows the secret"
        );
        for bad in [
            "",
            "qrl_",
            "qrl_abc",
            &format!("qrx_{}", &text[4..]),
            &format!("{text}x"),
            &text.replace('q', "Q"),
        ] {
            assert_eq!(TokenSecret::parse(bad), None, "{bad:?}");
        }
        assert_eq!(token.hash().len(), 64);
    }

    #[test]
    fn failures_block_for_twice_as_long_each_time_up_to_fifteen_minutes() {
        let seconds = |n| block_after(n).map(|d| d.as_secs());
        assert_eq!((seconds(0), seconds(4)), (None, None));
        assert_eq!(
            (seconds(5), seconds(6), seconds(7)),
            (Some(1), Some(2), Some(4))
        );
        assert_eq!((seconds(15), seconds(1000)), (Some(15 * 60), Some(15 * 60)));
    }

    #[test]
    fn a_role_caps_the_scope() {
        assert_eq!(Role::Viewer.max_scope(), Scope::Read);
        assert_eq!(Role::Editor.max_scope(), Scope::Write);
        assert!(Scope::Read < Scope::Write && Scope::Write < Scope::Admin);
    }
}
