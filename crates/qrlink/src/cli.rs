//! The command line: every setting as a flag with its `QRLINK_…` environment variable, so
//! `--help` is the configuration reference.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "qrlink",
    version,
    about = "Self-hosted QR code generator and link forwarder",
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub instance: InstanceArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every command shares: where the data is and what the public address is.
#[derive(Debug, Args)]
pub struct InstanceArgs {
    /// A TOML file of settings, named like the flags in snake_case (`base_url = "…"`).
    /// Flags and environment variables take precedence over it.
    #[arg(long, global = true, env = "QRLINK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded SQLite database (created and migrated on first use).
    #[arg(
        long,
        global = true,
        env = "QRLINK_DATA_DIR",
        default_value = "qrlink-data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,
    /// PostgreSQL URL (`postgres://user@host/db`); when set, used instead of SQLite.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// A file holding the PostgreSQL URL, such as a mounted Kubernetes Secret; keeps the
    /// password out of the environment and the process list.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL_FILE",
        value_name = "FILE",
        conflicts_with = "database_url"
    )]
    pub database_url_file: Option<PathBuf>,
    /// The public base URL that short links and QR codes start with. Targets under it are
    /// refused, as they would loop.
    #[arg(
        long,
        global = true,
        env = "QRLINK_BASE_URL",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub base_url: String,
    /// Allow targets on localhost, private and other special-purpose addresses.
    #[arg(long, global = true, env = "QRLINK_ALLOW_PRIVATE_TARGETS")]
    pub allow_private_targets: bool,
    /// Time zone for showing times and reading local schedule times (IANA name).
    #[arg(
        long,
        global = true,
        env = "QRLINK_TIME_ZONE",
        default_value = "UTC",
        value_name = "ZONE"
    )]
    pub time_zone: String,
    /// Encode link codes in lowercase even where the base URL allows the smaller uppercase form
    /// (for scanners that only recognise a lowercase `https://`).
    #[arg(long, global = true, env = "QRLINK_LOWERCASE_CODES")]
    pub lowercase_codes: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: public redirects and health endpoints.
    Serve(ServeArgs),
    /// Create, change and inspect links.
    #[command(subcommand)]
    Link(LinkCommand),
    /// Make a QR code for any text, verified by a decoder before it is written.
    Qr(Box<QrArgs>),
    /// Write every link as qrlink JSON (with aliases, schedule and history: what `import`
    /// restores exactly) or CSV (`slug,target,title,tags,status,locked`).
    Export {
        #[arg(long, value_enum, default_value = "json")]
        format: ExportFormatArg,
        /// Write to this file (complete or not at all) instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Import links from a qrlink JSON or CSV file, or a CSV export of Shlink, YOURLS, Kutt or
    /// Bitly (see docs/IMPORT.md). All or nothing: every rejected record is listed with its
    /// line and reason, and then nothing is stored. A taken slug is never overwritten.
    Import {
        /// The file to read; `-` reads standard input.
        file: PathBuf,
    },
    /// Write the current redirects for a web server or static host (nginx, Caddy, Netlify, or
    /// a folder of HTML pages), so printed codes keep working while qrlink is down.
    ExportStatic {
        #[arg(long, value_enum)]
        format: StaticFormatArg,
        /// The directory to write into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Show how a links file (TOML, see docs/LINKS-AS-CODE.md) differs from the database: new,
    /// re-pointed, retired, renamed links. Exits 2 when there is a change, 0 when none.
    Plan {
        file: PathBuf,
        /// Print the changes as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make the database match a links file, in one transaction; history names the file.
    Apply {
        file: PathBuf,
        /// Allow changes to where printed (locked) links point.
        #[arg(long)]
        confirm_locked: bool,
    },
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Add users, reset passwords and change roles (each prints a one-time link; passwords
    /// are never given on the command line).
    #[command(subcommand)]
    User(UserCommand),
    /// Write a consistent, checked copy of the SQLite database while qrlink runs.
    /// (PostgreSQL: use pg_dump, see the README.)
    Backup {
        /// The new backup file.
        file: PathBuf,
    },
    /// Put a backup in place as the SQLite database. Stop `qrlink serve` first.
    Restore {
        /// A file written by `qrlink backup`.
        file: PathBuf,
        /// Overwrite the database that is there.
        #[arg(long)]
        replace: bool,
    },
}

impl Default for RenderArgs {
    /// The defaults of `qrlink qr`, as clap fills them in.
    fn default() -> RenderArgs {
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            render: RenderArgs,
        }
        Defaults::parse_from(["qrlink"]).render
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user and print the one-time link where they choose their password.
    Add {
        /// 1 to 64 characters: letters a-z, digits, `.`, `_` and `-`.
        name: String,
        /// `admin` does everything; `editor` changes their own links (or all, once granted);
        /// `viewer` reads.
        #[arg(long, value_parser = ["admin", "editor", "viewer"])]
        role: String,
    },
    /// Print a one-time link where the user sets a new password; using it ends their sessions.
    ResetPassword { name: String },
    /// Change a user's role; their sessions end. The last admin stays an admin.
    Role {
        name: String,
        #[arg(value_parser = ["admin", "editor", "viewer"])]
        role: String,
        /// Let an editor change every link, not only their own.
        #[arg(long)]
        all_links: bool,
    },
    /// Every user, with their role.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for the API. It is printed once, alone on the last line of standard
    /// output; only its hash is stored.
    Create {
        /// What uses the token (`ci-deploy`); history names it.
        #[arg(long)]
        name: String,
        /// What the token may do: `read` links, history, counts and codes; `write` also changes
        /// links; `admin` also manages tokens and users.
        #[arg(long, value_parser = ["read", "write", "admin"])]
        scope: String,
        /// Lifetime, such as 90m, 12h, 30d or 2w; without it the token lasts until revoked.
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// Tie the token to a user, whose role then caps its scope.
        #[arg(long)]
        user: Option<String>,
    },
    /// Every token: prefix, scope, expiry, revocation and last use; never the secret.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token; every replica refuses it from its next request on.
    Revoke {
        /// The token's number (see `token list`).
        id: i64,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormatArg {
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum StaticFormatArg {
    Nginx,
    Caddy,
    Netlify,
    Html,
}

#[derive(Debug, Args)]
#[command(subcommand_negates_reqs = true)]
pub struct QrArgs {
    /// The text to encode, verbatim (never uppercased). To encode a text that is also a helper's
    /// name, write `qrlink qr -- wifi`.
    #[arg(required = true)]
    pub text: Option<String>,
    #[command(flatten)]
    pub render: RenderArgs,
    /// Build the text from fields instead, escaped for its format.
    #[command(subcommand)]
    pub helper: Option<QrHelper>,
}

/// How the code is encoded and drawn; accepted before or after a helper's name.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Write to this file; the format follows its extension unless --format is given.
    /// Without it the code is drawn in the terminal.
    #[arg(short, long, global = true, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(long, global = true, value_parser = ["svg", "png", "pdf", "eps", "txt", "terminal"])]
    pub format: Option<String>,
    /// Error-correction level (L, M, Q or H); M by default, H when there is a logo.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub ecc: Option<String>,
    /// Keep exactly the requested level instead of raising it for free when there is room.
    #[arg(long, global = true)]
    pub no_boost: bool,
    /// Use exactly this version (1-40; 1-4 with --micro).
    #[arg(long, global = true, value_name = "N")]
    pub version: Option<u8>,
    /// Force a mask pattern (0-7; 0-3 with --micro).
    #[arg(long, global = true, value_name = "0-7")]
    pub mask: Option<u8>,
    /// Make a Micro QR code (short payloads only).
    #[arg(long, global = true)]
    pub micro: bool,
    /// Quiet zone in modules (default 4, or 2 for Micro QR).
    #[arg(long, global = true, value_name = "N")]
    pub border: Option<usize>,
    /// Pixels per module (PNG; SVG uses it for its default width).
    #[arg(long, global = true, value_name = "N", conflicts_with_all = ["size", "mm"])]
    pub scale: Option<u32>,
    /// Image width in pixels, quiet zone included; rounded down to whole pixels per module.
    #[arg(long, global = true, value_name = "PX", conflicts_with = "mm")]
    pub size: Option<u32>,
    /// Printed width in millimetres, quiet zone included (PDF and EPS exactly; PNG at --dpi).
    /// Without it PDF and EPS use 1 mm per module.
    #[arg(long, global = true, value_name = "MM")]
    pub mm: Option<f64>,
    /// Module shape (SVG and PNG).
    #[arg(long, global = true, default_value = "square", value_parser = ["square", "rounded", "dot", "gapped", "hbars", "vbars"])]
    pub shape: String,
    /// Finder-pattern ("eye") shape (SVG and PNG).
    #[arg(long, global = true, default_value = "square", value_parser = ["square", "rounded", "dot"])]
    pub finder: String,
    /// Fill dark modules with a gradient from --dark to --dark2.
    #[arg(long, global = true, value_parser = ["linear", "radial"], requires = "dark2")]
    pub gradient: Option<String>,
    /// The gradient's second colour.
    #[arg(long, global = true, value_name = "COLOR", requires = "gradient")]
    pub dark2: Option<String>,
    /// A PNG or JPEG logo for the centre (at most 1 MiB); it is re-encoded, never embedded as is.
    #[arg(long, global = true, value_name = "FILE")]
    pub logo: Option<PathBuf>,
    /// The logo's width as a percentage of the symbol's width.
    #[arg(long, global = true, value_name = "PERCENT", default_value_t = 20)]
    pub logo_size: u8,
    /// A logo's bytes, from a server's store rather than a file (never a flag).
    #[arg(skip)]
    pub logo_bytes: Option<Vec<u8>>,
    /// The widest PNG drawn, in pixels, when a server bounds its renders (never a flag).
    #[arg(skip)]
    pub max_png_side: Option<u32>,
    /// Text under the code, such as the short URL, for people whose camera fails (SVG and PNG).
    #[arg(long, global = true, value_name = "TEXT")]
    pub caption: Option<String>,
    /// Report the smallest print size for people scanning from this far away, in metres.
    #[arg(long, global = true, value_name = "METRES")]
    pub scan_distance: Option<f64>,
    /// Print resolution for PNG with --mm.
    #[arg(
        long,
        global = true,
        value_name = "N",
        default_value_t = 300,
        requires = "mm"
    )]
    pub dpi: u32,
    /// Colour of dark modules (#rrggbb, #rgb, #rrggbbaa).
    #[arg(long, global = true, default_value = "#000", value_name = "COLOR")]
    pub dark: String,
    /// Colour of light modules and quiet zone, or `transparent`.
    #[arg(long, global = true, default_value = "#fff", value_name = "COLOR")]
    pub light: String,
}

#[derive(Debug, Subcommand)]
pub enum QrHelper {
    /// Join a Wi-Fi network.
    Wifi {
        #[arg(long)]
        ssid: String,
        /// The password (or set QRLINK_WIFI_PASSWORD, to keep it out of the process list).
        #[arg(long, env = "QRLINK_WIFI_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long, default_value = "WPA", value_name = "WPA|WEP|nopass")]
        security: String,
        /// The network does not broadcast its name.
        #[arg(long)]
        hidden: bool,
    },
    /// A contact card (vCard 3.0).
    Vcard(ContactArgs),
    /// A contact card in the compact MeCard format.
    Mecard(ContactArgs),
    /// A place (geo: URI).
    #[command(allow_negative_numbers = true)]
    Geo {
        #[arg(long)]
        lat: f64,
        #[arg(long)]
        lon: f64,
    },
    /// An e-mail to write (mailto: URI).
    Email {
        #[arg(long)]
        to: String,
        #[arg(long)]
        subject: Option<String>,
        #[arg(long)]
        body: Option<String>,
    },
    /// A text message to send (sms: URI).
    Sms {
        #[arg(long)]
        number: String,
        #[arg(long)]
        body: Option<String>,
    },
    /// A phone number to call (tel: URI).
    Tel {
        #[arg(long)]
        number: String,
    },
    /// A SEPA credit transfer (EPC "GiroCode"), read by European banking apps.
    Epc {
        /// The beneficiary.
        #[arg(long)]
        name: String,
        #[arg(long)]
        iban: String,
        #[arg(long, default_value = "")]
        bic: String,
        /// Amount in euro, such as 12.50.
        #[arg(long)]
        amount: Option<String>,
        /// A structured creditor reference (either this or --text).
        #[arg(long, default_value = "")]
        reference: String,
        /// Remittance text for the beneficiary.
        #[arg(long, default_value = "")]
        text: String,
    },
}

#[derive(Debug, Args)]
pub struct ContactArgs {
    #[arg(long)]
    pub name: String,
    #[arg(long, default_value = "")]
    pub org: String,
    #[arg(long, default_value = "")]
    pub phone: String,
    #[arg(long, default_value = "")]
    pub email: String,
    #[arg(long, default_value = "")]
    pub url: String,
    #[arg(long, default_value = "")]
    pub address: String,
    #[arg(long, default_value = "")]
    pub note: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "QRLINK_LISTEN",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    pub listen: SocketAddr,
    /// Where `/` redirects; without it `/` shows a minimal page.
    #[arg(long, env = "QRLINK_HOME_URL", value_name = "URL")]
    pub home_url: Option<String>,
    /// Where unknown slugs redirect; without it they get a 404 page.
    #[arg(long, env = "QRLINK_NOT_FOUND_URL", value_name = "URL")]
    pub not_found_url: Option<String>,
    /// Where retired links redirect; without it they get a 410 page.
    #[arg(long, env = "QRLINK_RETIRED_URL", value_name = "URL")]
    pub retired_url: Option<String>,
    /// `Referrer-Policy` sent with redirects and pages.
    #[arg(
        long,
        env = "QRLINK_REFERRER_POLICY",
        default_value = "no-referrer",
        value_name = "POLICY"
    )]
    pub referrer_policy: String,
    /// How often in-memory hit counts are written to the database, in milliseconds.
    #[arg(
        long,
        env = "QRLINK_FLUSH_INTERVAL_MS",
        default_value_t = 1000,
        value_name = "MS"
    )]
    pub flush_interval_ms: u64,
    /// How often the change feed is read for edits made elsewhere, in milliseconds.
    #[arg(
        long,
        env = "QRLINK_POLL_INTERVAL_MS",
        default_value_t = 250,
        value_name = "MS"
    )]
    pub poll_interval_ms: u64,
    /// Log format.
    #[arg(long, env = "QRLINK_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Log every request with the visitor's IP address, method, path and status. Off by
    /// default: without it qrlink logs nothing about visitors.
    #[arg(long, env = "QRLINK_ACCESS_LOG")]
    pub access_log: bool,
    /// Serve Prometheus metrics at `/metrics` on this address (keep it private: bind it to
    /// a loopback or cluster-internal address, never the public one).
    #[arg(long, env = "QRLINK_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// An admin session ends after this many minutes without a request.
    #[arg(
        long,
        env = "QRLINK_SESSION_IDLE_MINUTES",
        default_value_t = 120,
        value_name = "MINUTES",
        value_parser = clap::value_parser!(u32).range(1..=10_080)
    )]
    pub session_idle_minutes: u32,
    /// An admin session ends this many hours after sign-in, however busy.
    #[arg(
        long,
        env = "QRLINK_SESSION_HOURS",
        default_value_t = 12,
        value_name = "HOURS",
        value_parser = clap::value_parser!(u32).range(1..=720)
    )]
    pub session_hours: u32,
    /// Where browsers report Content-Security-Policy violations of admin pages (`report-uri`).
    #[arg(long, env = "QRLINK_CSP_REPORT_URI", value_name = "URL")]
    pub csp_report_uri: Option<String>,
    /// A proxy (address or CIDR block) whose forwarding header names the client, for the
    /// per-client limits and the access log (repeatable; comma-separated in the variable, a
    /// list in the file). From any other peer the header is ignored.
    #[arg(
        long = "trusted-proxy",
        id = "trusted_proxy",
        env = "QRLINK_TRUSTED_PROXY",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
    /// The header trusted proxies write the client's address into: `x-forwarded-for` or
    /// `forwarded` (RFC 7239). Only the one named is read, so a client cannot pass its own.
    #[arg(
        long,
        env = "QRLINK_FORWARDED_HEADER",
        default_value = "x-forwarded-for",
        value_name = "HEADER"
    )]
    pub forwarded_header: String,
    /// At most this many connections open at once; more wait in the listen queue (0: no
    /// limit). Each open connection costs a file descriptor and a little memory.
    #[arg(
        long,
        env = "QRLINK_MAX_CONNECTIONS",
        default_value_t = 10_000,
        value_name = "N"
    )]
    pub max_connections: usize,
}

#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Create a link with a chosen slug, or a random one with --generate.
    Add {
        /// SLUG (letters, digits and `-`; case-insensitive) and TARGET (absolute http or https
        /// URL); with --generate, TARGET alone.
        #[arg(required = true, num_args = 1..=2, value_names = ["SLUG", "TARGET"])]
        args: Vec<String>,
        /// Generate a random 7-character slug instead of naming one.
        #[arg(long)]
        generate: bool,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        note: Option<String>,
        /// A tag (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        #[arg(long, value_name = "301|302|307|308")]
        redirect_status: Option<u16>,
        /// Append the request's query string to the target.
        #[arg(long)]
        forward_query: bool,
        #[arg(long)]
        json: bool,
    },
    /// List links, optionally searching slug, title and target.
    List {
        #[arg(long)]
        search: Option<String>,
        #[arg(long)]
        tag: Option<String>,
        #[arg(long, value_parser = ["active", "retired"])]
        status: Option<String>,
        /// Only links this user owns.
        #[arg(long, value_name = "USER")]
        owner: Option<String>,
        /// `slug` (A to Z) or `changed` (the most recently changed first).
        #[arg(long, default_value = "slug", value_parser = ["slug", "changed"])]
        order: String,
        /// Show links whose slug sorts after this one (keyset pagination).
        #[arg(long, value_name = "SLUG")]
        after: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Show one link; with --at, where it goes at that time.
    Show {
        slug: String,
        /// A time (RFC 3339, or `2026-09-15 09:00 Europe/Berlin`).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Point a link at a new target, now or from --at on.
    SetTarget {
        slug: String,
        target: String,
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        /// Confirm re-pointing a locked (printed) link.
        #[arg(long)]
        confirm: bool,
    },
    /// Change title, notes, tags, redirect status or query forwarding.
    Set {
        slug: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        note: Option<String>,
        /// Replace the tags (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        #[arg(long, value_name = "301|302|307|308")]
        redirect_status: Option<u16>,
        #[arg(long, value_name = "true|false")]
        forward_query: Option<bool>,
    },
    /// Retire a link (it answers 410), now or from --at on. Its slug is never freed.
    Retire {
        slug: String,
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        #[arg(long)]
        confirm: bool,
    },
    /// Bring a retired link back.
    Unretire {
        slug: String,
    },
    /// Mark a link as printed: renaming is refused, re-pointing needs --confirm.
    Lock {
        slug: String,
    },
    Unlock {
        slug: String,
    },
    /// Give a link a new slug; the old one keeps redirecting.
    Rename {
        old: String,
        new: String,
    },
    /// Every recorded change, with full targets.
    History {
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Point the link back at the target of an earlier history entry.
    Restore {
        slug: String,
        /// The history entry number (see `link history`).
        entry: i64,
        #[arg(long)]
        confirm: bool,
    },
    /// Pending scheduled changes.
    Schedule {
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a pending scheduled change.
    Unschedule {
        slug: String,
        /// The schedule entry id (see `link schedule`).
        entry: i64,
    },
    /// The verified QR code of a link's short URL (uppercase where the base URL allows it).
    Qr {
        slug: String,
        /// Caption the code with its short URL (without `https://`).
        #[arg(long, conflicts_with = "caption")]
        url_caption: bool,
        #[command(flatten)]
        render: Box<RenderArgs>,
    },
}
