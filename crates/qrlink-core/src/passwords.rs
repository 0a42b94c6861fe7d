//! Passwords (R-SEC-1) and the bounded Argon2 work that checks them (R-SEC-13).
//!
//! Argon2id at the OWASP minimum fills 19 MiB for each hash, on purpose. Left to a blocking
//! pool, every concurrent sign-in attempt allocated its own 19 MiB, and freed memory stayed
//! in the allocator's per-thread arenas: 60 parallel attempts grew the server by a gigabyte.
//! [`PasswordWork`] runs at most a fixed number of hashes at once, each in a workspace
//! allocated once and reused, so password checks hold at most `slots × 19 MiB`.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::Block;
use argon2::password_hash::{Output, ParamsString, SaltString};

use crate::error::{Error, Invalid, Result};

/// A password as a person chose it: 12 to 256 characters, any but control characters, and not
/// only spaces (NIST SP 800-63B: length, no composition rules). Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(input: &str) -> Result<Password, Invalid> {
        let length = input.chars().count();
        if !(12..=256).contains(&length) {
            return Err(Invalid::new(
                "password",
                "length",
                "a password has 12 to 256 characters",
            ));
        }
        if input.chars().any(char::is_control) {
            return Err(Invalid::new(
                "password",
                "control_character",
                "a password may not contain control characters",
            ));
        }
        if input.trim().is_empty() {
            return Err(Invalid::new(
                "password",
                "blank",
                "a password cannot be only spaces",
            ));
        }
        Ok(Password(input.to_owned()))
    }

    /// A new password someone chooses: [`Password::parse`]'s rules, and not guessable by
    /// the zxcvbn estimator (score 3 of 4 at least: resists an offline attack on a slow hash),
    /// also counting `context` (the user's name, the instance's host) as known to attackers.
    pub fn choose(input: &str, context: &[&str]) -> Result<Password, Invalid> {
        let password = Password::parse(input)?;
        let estimate = zxcvbn::zxcvbn(input, context);
        if estimate.score() < zxcvbn::Score::Three {
            let mut advice = String::from("this password is too easy to guess");
            if let Some(feedback) = estimate.feedback() {
                if let Some(warning) = feedback.warning() {
                    advice.push_str(&format!(" ({warning})"));
                }
                if let Some(suggestion) = feedback.suggestions().first() {
                    advice.push_str(&format!("; {suggestion}"));
                }
            }
            advice.push_str("; a few unrelated words make a strong one");
            return Err(Invalid::new("password", "weak", advice));
        }
        Ok(password)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// A stored password: Argon2id in PHC form (`$argon2id$v=19$m=19456,t=2,p=1$…`), with the
/// OWASP minimum cost (19 MiB, two passes, one lane) and a random 16-byte salt (R-SEC-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

/// A hash that no password is known to match (random salt and output), checked in place of a
/// missing one so that refusing an unknown name costs as much as refusing a wrong password.
const NO_PASSWORD: &str = "$argon2id$v=19$m=19456,t=2,p=1$Ia9bdVvCfzkzViC1jqsq+A$mibBu1K3ZjQlG5OE58xzfJ87yJ2msm53KcT8fFOykv8";

impl PasswordHash {
    /// Hashes `password` with a new salt, in a workspace of its own (tools and tests; the
    /// server hashes through [`PasswordWork`]).
    pub fn create(password: &Password) -> PasswordHash {
        PasswordHash::create_in(&mut Workspace::new(), password)
    }

    /// Whether `candidate` is the password, in a workspace of its own.
    pub fn verify(&self, candidate: &str) -> bool {
        self.verify_in(&mut Workspace::new(), candidate)
    }

    fn create_in(workspace: &mut Workspace, password: &Password) -> PasswordHash {
        let salt: [u8; 16] = rand::random();
        let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
        let mut salt_bytes = [0; 16];
        let salt_bytes = salt
            .decode_b64(&mut salt_bytes)
            .expect("a salt decodes to what it encoded");
        let params = params();
        let mut output = [0; 32];
        argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params.clone(),
        )
        .hash_password_into_with_memory(
            password.0.as_bytes(),
            salt_bytes,
            &mut output,
            &mut *workspace.0,
        )
        .expect("Argon2id hashes any password with valid parameters");
        let params = ParamsString::try_from(&params).expect("the parameters format");
        let output = Output::new(&output).expect("32 bytes are a valid output");
        PasswordHash(format!(
            "$argon2id$v=19${params}${}${output}",
            salt.as_str()
        ))
    }

    /// Whether `candidate` is the password; the outputs are compared in constant time. A hash
    /// that is malformed or needs more memory than a workspace holds matches nothing.
    fn verify_in(&self, workspace: &mut Workspace, candidate: &str) -> bool {
        use argon2::password_hash::PasswordHash as Phc;
        let Ok(phc) = Phc::new(&self.0) else {
            return false;
        };
        let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
            argon2::Algorithm::try_from(phc.algorithm),
            argon2::Params::try_from(&phc),
            phc.salt,
            phc.hash,
        ) else {
            return false;
        };
        let version = match phc.version.map(argon2::Version::try_from) {
            None => argon2::Version::V0x13,
            Some(Ok(version)) => version,
            Some(Err(_)) => return false,
        };
        if params.block_count() > workspace.0.len() {
            tracing::warn!("a stored password hash needs more memory than qrlink gives one");
            return false;
        }
        let mut salt_bytes = [0; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        let mut output = vec![0; expected.len()];
        argon2::Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(
                candidate.as_bytes(),
                salt,
                &mut output,
                &mut *workspace.0,
            )
            .is_ok()
            && Output::new(&output).is_ok_and(|output| output == expected)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_stored(stored: String) -> PasswordHash {
        PasswordHash(stored)
    }
}

/// The OWASP minimum for Argon2id: 19 MiB, two passes, one lane.
fn params() -> argon2::Params {
    argon2::Params::new(19 * 1024, 2, 1, Some(32)).expect("OWASP parameters are valid")
}

/// The memory of one Argon2 hash (19 MiB), allocated once and reused.
struct Workspace(Box<[Block]>);

impl fmt::Debug for Workspace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Workspace({} blocks)", self.0.len())
    }
}

impl Workspace {
    fn new() -> Workspace {
        Workspace(vec![Block::default(); params().block_count()].into_boxed_slice())
    }
}

/// The server's password hashing: at most `slots` hashes at once, each in a reused
/// [`Workspace`]. A request that finds every slot taken waits up to `wait`, then gets
/// [`Error::Busy`] (a 503 with `Retry-After`), so a flood of sign-ins costs a bounded amount of
/// memory and CPU however many arrive.
#[derive(Clone)]
pub struct PasswordWork {
    slots: Arc<tokio::sync::Semaphore>,
    /// Workspaces not in use; never more than `slots` exist.
    idle: Arc<Mutex<Vec<Workspace>>>,
    wait: Duration,
}

impl fmt::Debug for PasswordWork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordWork")
            .field("free_slots", &self.slots.available_permits())
            .field("wait", &self.wait)
            .finish()
    }
}

impl PasswordWork {
    /// The memory one slot holds once used: Argon2id's 19 MiB.
    pub const SLOT_BYTES: usize = 19 * 1024 * 1024;

    pub fn new(slots: usize, wait: Duration) -> PasswordWork {
        PasswordWork {
            slots: Arc::new(tokio::sync::Semaphore::new(slots.max(1))),
            idle: Arc::new(Mutex::new(Vec::new())),
            wait,
        }
    }

    /// One slot per core (a hash keeps a core busy), and two seconds of patience.
    pub fn for_this_machine() -> PasswordWork {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        PasswordWork::new(cores, Duration::from_secs(2))
    }

    /// Waits up to the configured time for a free slot; [`Error::Busy`] if none frees up.
    pub async fn slot(&self) -> Result<Slot> {
        let permit = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| Error::Busy {
                retry_after: Duration::from_secs(5),
            })?
            .expect("the semaphore is never closed");
        Ok(Slot {
            permit,
            idle: self.idle.clone(),
        })
    }

    /// A slot, then [`Slot::verify`].
    pub async fn verify(&self, stored: Option<PasswordHash>, candidate: &str) -> Result<bool> {
        Ok(self.slot().await?.verify(stored, candidate).await)
    }

    /// A slot, then [`Slot::hash`].
    pub async fn hash(&self, password: Password) -> Result<PasswordHash> {
        Ok(self.slot().await?.hash(password).await)
    }
}

/// A taken slot of [`PasswordWork`]: one hash may run.
#[derive(Debug)]
pub struct Slot {
    permit: tokio::sync::OwnedSemaphorePermit,
    idle: Arc<Mutex<Vec<Workspace>>>,
}

impl Slot {
    /// Whether `candidate` matches `stored`; without a stored hash, the same work is spent on
    /// one that matches nothing and the answer is `false`.
    pub async fn verify(self, stored: Option<PasswordHash>, candidate: &str) -> bool {
        let candidate = candidate.to_owned();
        let stored = stored.unwrap_or_else(|| PasswordHash(NO_PASSWORD.to_owned()));
        self.run(move |workspace| stored.verify_in(workspace, &candidate))
            .await
    }

    /// Hashes a new password.
    pub async fn hash(self, password: Password) -> PasswordHash {
        self.run(move |workspace| PasswordHash::create_in(workspace, &password))
            .await
    }

    async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce(&mut Workspace) -> T + Send + 'static,
    ) -> T {
        // The slot moves with the work: if the request is dropped while the hash runs, the
        // slot stays taken until the hash is done.
        tokio::task::spawn_blocking(move || {
            let taken = self.idle.lock().expect("never poisoned").pop();
            let mut workspace = taken.unwrap_or_else(Workspace::new);
            let answer = work(&mut workspace);
            self.idle.lock().expect("never poisoned").push(workspace);
            drop(self.permit);
            answer
        })
        .await
        .expect("password hashing does not panic")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_stored_as_argon2id_and_verifies_only_itself() {
        let password = Password::parse("correct horse battery").unwrap();
        let hash = PasswordHash::create(&password);
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
        assert!(hash.verify("correct horse battery"));
        assert!(!hash.verify("correct horse battery "));
        assert!(!hash.verify(""));
        assert_ne!(
            PasswordHash::create(&password),
            hash,
            "a new salt each time"
        );
        assert!(!PasswordHash::from_stored("not a hash".into()).verify("correct horse battery"));
        assert!(!format!("{password:?}").contains("horse"));
        for (bad, rule) in [
            ("short", "length"),
            ("            ", "blank"),
            ("twelve chars\n", "control_character"),
        ] {
            assert_eq!(Password::parse(bad).unwrap_err().rule, rule, "{bad:?}");
        }
        assert!(Password::parse(&"x".repeat(257)).is_err());
        assert!(
            Password::parse("pässwörd mit ümläuten").is_ok(),
            "any script"
        );
    }

    #[test]
    fn a_guessable_password_is_refused_with_the_reason() {
        for weak in [
            "password1234",
            "qwertyuiop123",
            "aaaaaaaaaaaa",
            "ada-lovelace-1815",
        ] {
            let refused = Password::choose(weak, &["ada-lovelace"]).unwrap_err();
            assert_eq!(
                (refused.field, refused.rule),
                ("password", "weak"),
                "{weak}"
            );
            assert!(
                refused.message.contains("too easy to guess"),
                "{}",
                refused.message
            );
        }
        assert!(Password::choose("copper kettle marches sideways", &["ada"]).is_ok());
        assert_eq!(
            Password::choose("short", &[]).unwrap_err().rule,
            "length",
            "the plain rules come first"
        );
    }

    #[test]
    fn a_hash_made_by_the_argon2_crate_verifies_here_and_the_other_way_round() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let argon2 = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params(),
        );
        let salt = SaltString::encode_b64(b"sixteen byte sal").unwrap();
        let theirs = argon2
            .hash_password(b"their long password", &salt)
            .unwrap()
            .to_string();
        let theirs = PasswordHash::from_stored(theirs);
        assert!(theirs.verify("their long password"));
        assert!(!theirs.verify("their long passwore"));
        let ours = PasswordHash::create(&Password::parse("our long password").unwrap());
        let parsed = argon2::password_hash::PasswordHash::new(ours.as_str()).unwrap();
        assert!(
            argon2
                .verify_password(b"our long password", &parsed)
                .is_ok()
        );
        assert!(
            argon2
                .verify_password(b"our long passworD", &parsed)
                .is_err()
        );
    }

    #[test]
    fn the_stand_in_hash_is_well_formed_and_matches_nothing_tried() {
        let stand_in = PasswordHash(NO_PASSWORD.to_owned());
        let parsed = argon2::password_hash::PasswordHash::new(NO_PASSWORD).unwrap();
        assert_eq!(
            argon2::Params::try_from(&parsed).unwrap().m_cost(),
            19 * 1024
        );
        assert!(!stand_in.verify(""));
        assert!(!stand_in.verify("correct horse battery"));
    }

    #[tokio::test]
    async fn work_beyond_the_slots_waits_then_is_refused_as_busy() {
        let work = PasswordWork::new(1, Duration::from_millis(50));
        let hash = work
            .hash(Password::parse("correct horse battery").unwrap())
            .await
            .unwrap();
        assert!(
            work.verify(Some(hash.clone()), "correct horse battery")
                .await
                .unwrap()
        );
        assert!(!work.verify(None, "correct horse battery").await.unwrap());
        // Hold the only slot, as a long hash would.
        let held = work.slots.clone().acquire_owned().await.unwrap();
        let refused = work
            .verify(Some(hash.clone()), "correct horse battery")
            .await;
        assert!(matches!(refused, Err(Error::Busy { .. })), "{refused:?}");
        drop(held);
        assert!(
            work.verify(Some(hash), "correct horse battery")
                .await
                .unwrap()
        );
        assert_eq!(
            work.idle.lock().unwrap().len(),
            1,
            "one slot, one workspace, reused"
        );
    }
}
