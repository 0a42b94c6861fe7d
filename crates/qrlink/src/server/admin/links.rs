//! The link pages: list, new link, and a link's own page with its QR code, history, schedule
//! and counts. Every change goes through the same store operations as the CLI and the API,
//! recorded in history as made by the signed-in user through the web.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use qrlink_core::accounts::LinkRights;
use qrlink_core::link::{
    Link, LinkDetails, LinkStatus, MAX_NOTES, MAX_REASON, MAX_TITLE, NewLink, ScheduledAction, Tag,
    parse_text,
};
use qrlink_core::schedule::parse_instant;
use qrlink_core::slug::Slug;
use qrlink_core::store::{LinkOrder, LinkQuery, SavedStyle, TargetChange};
use qrlink_core::target::TargetUrl;
use serde::Deserialize;

use super::chart::{self, BarChart};
use super::{AdminError, Chrome, Post, Signed, html, page, see_other, wants_part};
use crate::link_cmd::{describe_change, display_time};
use crate::server::AppState;
use crate::server::pages::render;
use crate::server::qr::{LinkLogo, QrParams, link_image};

const PAGE_SIZE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    status: String,
    /// `mine`: only the signed-in user's links.
    #[serde(default)]
    owner: String,
    /// `changed`: the most recently changed first; A to Z otherwise.
    #[serde(default)]
    order: String,
    #[serde(default)]
    after: String,
}

/// A link as a row of the list.
struct Row {
    link: Link,
    target: qrlink_core::target::ShownTarget,
    spark: String,
    hits_30: i64,
    /// Whether the signed-in user may re-point it (an inline edit in the list).
    may_change: bool,
}

impl Row {
    fn new(link: Link, rights: &LinkRights) -> Row {
        Row {
            target: link.target.shown(),
            may_change: rights.may_change(&link),
            spark: String::new(),
            hits_30: 0,
            link,
        }
    }
}

/// A row's target, as the list shows it.
#[derive(askama::Template)]
#[template(path = "admin/target_cell.html")]
struct TargetCell<'a> {
    c: &'a Chrome,
    row: Row,
}

/// The inline form that re-points a link from the list (htmx's click-to-edit).
#[derive(askama::Template)]
#[template(path = "admin/target_edit.html")]
struct TargetEdit<'a> {
    c: &'a Chrome,
    row: Row,
    value: String,
    error: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "admin/links.html")]
struct ListPage<'a> {
    c: &'a Chrome,
    query: &'a ListQuery,
    rows: Vec<Row>,
    next: Option<String>,
    may_create: bool,
}

#[derive(askama::Template)]
#[template(path = "admin/link_rows.html")]
struct ListRows<'a> {
    c: &'a Chrome,
    rows: Vec<Row>,
    next: Option<String>,
}

fn optional(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|text| !text.is_empty())
}

/// The link list (R-LNK-7): search, filters and keyset pages, each with a 30-day sparkline.
/// htmx's active search asks for the rows only.
pub async fn list(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    let link_query = LinkQuery {
        search: optional(&query.q).map(str::to_owned),
        tag: optional(&query.tag).map(Tag::parse).transpose()?,
        status: match optional(&query.status) {
            None => None,
            Some("active") => Some(LinkStatus::Active),
            Some("retired") => Some(LinkStatus::Retired),
            Some(_) => {
                return Err(qrlink_core::error::Invalid::new(
                    "status",
                    "one_of",
                    "status is active or retired",
                )
                .into());
            }
        },
        owner: (query.owner == "mine").then(|| signed.user().name.clone()),
        order: match optional(&query.order) {
            None | Some("slug") => LinkOrder::Slug,
            Some("changed") => LinkOrder::Changed,
            Some(_) => {
                return Err(qrlink_core::error::Invalid::new(
                    "order",
                    "one_of",
                    "order is slug or changed",
                )
                .into());
            }
        },
        after: optional(&query.after).map(Slug::parse).transpose()?,
        limit: PAGE_SIZE,
    };
    let found = state.store.list_page(&link_query).await?;
    let today = qrlink_core::counts::utc_day(state.clock.now());
    let rights = signed.user().rights();
    let mut rows = Vec::with_capacity(found.links.len());
    for link in found.links {
        let counts = state.store.daily_counts(&link.slug).await?;
        let series = chart::daily_hits(&counts, today, 30);
        rows.push(Row {
            spark: chart::sparkline(&series),
            hits_30: series.iter().map(|(_, hits)| hits).sum(),
            ..Row::new(link, &rights)
        });
    }
    let next = found.next_after.map(|after| {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("q", &query.q),
            ("tag", &query.tag),
            ("status", &query.status),
            ("owner", &query.owner),
            ("order", &query.order),
        ] {
            if !value.is_empty() {
                pairs.append_pair(key, value);
            }
        }
        pairs.append_pair("after", after.as_str());
        format!("{}links?{}", signed.chrome.admin, pairs.finish())
    });
    if wants_part(&headers, "link-rows") {
        return Ok(page(&ListRows {
            c: &signed.chrome,
            rows,
            next,
        }));
    }
    Ok(page(&ListPage {
        c: &signed.chrome,
        query: &query,
        rows,
        next,
        may_create: signed.user().rights().may_create(),
    }))
}

#[derive(Debug, Default, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    tags: String,
}

#[derive(askama::Template)]
#[template(path = "admin/new_link.html")]
struct NewPage<'a> {
    c: &'a Chrome,
    form: &'a NewForm,
    error: Option<String>,
}

fn require_create(signed: &Signed) -> Result<(), AdminError> {
    if signed.user().rights().may_create() {
        Ok(())
    } else {
        Err(AdminError::Forbidden("viewers cannot create links".into()))
    }
}

pub async fn new_page(signed: Signed) -> Result<Response, AdminError> {
    require_create(&signed)?;
    Ok(page(&NewPage {
        c: &signed.chrome,
        form: &NewForm::default(),
        error: None,
    }))
}

fn tags(text: &str) -> Result<Vec<Tag>, qrlink_core::error::Invalid> {
    Tag::parse_all(text.split(',').map(str::trim).filter(|tag| !tag.is_empty()))
}

/// Creates a link owned by the signed-in user, with a chosen slug or a generated one.
pub async fn create(
    State(state): State<Arc<AppState>>,
    post: Post<NewForm>,
) -> Result<Response, AdminError> {
    let Post { signed, form } = post;
    require_create(&signed)?;
    let created = async {
        let mut new = NewLink::new(
            optional(&form.slug).map(Slug::parse).transpose()?,
            TargetUrl::parse(form.target.trim(), &state.settings.instance.policy)?,
        );
        new.title = parse_text("title", &form.title, MAX_TITLE, false)?;
        new.notes = parse_text("notes", &form.notes, MAX_NOTES, true)?;
        new.tags = tags(&form.tags)?;
        new.owner = Some(signed.user().name.clone());
        let now = state.clock.now();
        state.store.create_link(&new, &signed.actor(), now).await
    }
    .await;
    match created {
        Ok(link) => Ok(see_other(&format!(
            "{}links/{}",
            signed.chrome.admin, link.slug
        ))),
        Err(error @ (qrlink_core::Error::Invalid(_) | qrlink_core::Error::SlugTaken(_))) => {
            Ok(html(
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&NewPage {
                    c: &signed.chrome,
                    form: &form,
                    error: Some(error.to_string()),
                }),
            ))
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct DaysQuery {
    days: Option<u32>,
}

struct HistoryRow {
    seq: i64,
    at: String,
    actor: String,
    interface: &'static str,
    what: String,
    reason: String,
    /// The target this entry set, if it differs from the current one: what restore brings back.
    restorable: Option<String>,
}

struct ScheduleRow {
    id: i64,
    at: String,
    what: String,
    actor: String,
}

/// The QR preview: the image as a data URI (nothing else to fetch), or why it cannot be made.
struct Preview {
    data_uri: Option<String>,
    problem: Option<String>,
    facts: Vec<String>,
    warnings: Vec<String>,
}

#[derive(askama::Template)]
#[template(path = "admin/link.html")]
struct LinkPage<'a> {
    c: &'a Chrome,
    link: &'a Link,
    short_url: String,
    target: qrlink_core::target::ShownTarget,
    may_change: bool,
    history: Vec<HistoryRow>,
    schedule: Vec<ScheduleRow>,
    chart: BarChart,
    days: u32,
    styling: Styling,
    preview: Preview,
    downloads: Vec<(&'static str, String)>,
    time_zone: String,
    error: Option<String>,
    presets: Vec<String>,
}

#[derive(askama::Template)]
#[template(path = "admin/qr_preview.html")]
struct PreviewPart<'a> {
    link: &'a Link,
    preview: Preview,
    downloads: Vec<(&'static str, String)>,
    styling: Styling,
}

fn parse_slug(raw: &str) -> Result<Slug, AdminError> {
    Slug::parse(raw).map_err(|_| AdminError::NotFound)
}

/// The QR options of a form, with its empty fields left out (a select's "automatic").
fn tidy(mut style: QrParams) -> QrParams {
    for field in [
        &mut style.format,
        &mut style.ecc,
        &mut style.dark,
        &mut style.light,
        &mut style.shape,
        &mut style.finder,
        &mut style.gradient,
        &mut style.dark2,
        &mut style.caption,
    ] {
        if field
            .as_deref()
            .is_some_and(|value| value.trim().is_empty())
        {
            *field = None;
        }
    }
    if style.gradient.is_none() {
        style.dark2 = None;
    }
    style.format = None;
    style
}

/// What a link's saved style holds besides the QR options: the logo's size.
#[derive(Debug, Default, serde::Serialize, Deserialize)]
struct StyleOptions {
    #[serde(flatten)]
    params: QrParams,
    logo_size: Option<u8>,
}

/// How a link's code is drawn: its saved style, or one being tried out in the editor.
#[derive(Debug, Clone)]
struct Styling {
    params: QrParams,
    logo: Option<LinkLogo>,
    /// Whether a saved logo exists (the editor offers to keep it).
    saved_logo: bool,
    /// A style tried out but not saved: downloads wait until it is.
    unsaved: bool,
    /// The logo was uploaded for this preview, not saved yet: the page carries it on (as
    /// base64 in the form) so that saving after a preview without JavaScript keeps it.
    pending_logo: bool,
}

impl Styling {
    fn logo_size(&self) -> u8 {
        self.logo
            .as_ref()
            .map_or(DEFAULT_LOGO_SIZE, |logo| logo.size_percent)
    }

    /// A stored style (a link's or a preset's) as the editor shows it.
    fn from_saved(saved: SavedStyle) -> Styling {
        let options: StyleOptions = serde_json::from_str(&saved.options).unwrap_or_default();
        let logo = saved.logo_png.map(|png| LinkLogo {
            png,
            size_percent: options.logo_size.unwrap_or(DEFAULT_LOGO_SIZE),
        });
        Styling {
            params: tidy(options.params),
            saved_logo: logo.is_some(),
            logo,
            unsaved: false,
            pending_logo: false,
        }
    }

    /// The style as it is stored.
    fn to_saved(&self) -> SavedStyle {
        let options = StyleOptions {
            params: self.params.clone(),
            logo_size: Some(self.logo_size()),
        };
        SavedStyle {
            options: serde_json::to_string(&options).expect("style options serialise"),
            logo_png: self.logo.as_ref().map(|logo| logo.png.clone()),
        }
    }

    fn pending_logo_base64(&self) -> Option<String> {
        let logo = self.logo.as_ref().filter(|_| self.pending_logo)?;
        Some(base64::engine::general_purpose::STANDARD.encode(&logo.png))
    }
}

/// The largest logo kept, as the PNG it is re-encoded to. A logo needs a few hundred pixels
/// (a 10 cm code at 300 dpi is about 1,200 pixels wide, its logo a fifth of that).
const MAX_STORED_LOGO: usize = 1024 * 1024;

const DEFAULT_LOGO_SIZE: u8 = 20;

async fn saved_styling(state: &AppState, link: &Link) -> Result<Styling, AdminError> {
    Ok(match state.store.link_style(&link.slug).await? {
        Some(saved) => Styling::from_saved(saved),
        None => Styling {
            params: QrParams::default(),
            logo: None,
            saved_logo: false,
            unsaved: false,
            pending_logo: false,
        },
    })
}

/// Downloads of the saved style, in every format.
fn downloads(c: &Chrome, link: &Link) -> Vec<(&'static str, String)> {
    ["svg", "png", "pdf", "eps", "txt"]
        .into_iter()
        .map(|format| {
            let url = format!("{}links/{}/qr?format={format}", c.admin, link.slug);
            (format, url)
        })
        .collect()
}

async fn preview(state: &AppState, link: &Link, styling: &Styling) -> Preview {
    let params = QrParams {
        format: Some("svg".into()),
        ..styling.params.clone()
    };
    match link_image(state, link, params, styling.logo.clone()).await {
        Ok(image) => {
            let check = image.print_check();
            let mut facts = vec![
                format!("contrast {:.1}:1", check.contrast),
                format!(
                    "{} modules a side, quiet zone {} (standard {})",
                    check.modules, check.quiet_zone, check.standard_quiet_zone
                ),
            ];
            if let Some((hidden, repairable)) = check.logo_modules {
                facts.push(format!(
                    "the logo hides {hidden} modules; about {repairable} can be repaired"
                ));
            }
            facts.push("decoded by an independent decoder: it gives back the short URL".into());
            Preview {
                data_uri: Some(format!(
                    "data:image/svg+xml;base64,{}",
                    base64::engine::general_purpose::STANDARD.encode(&image.bytes)
                )),
                problem: None,
                facts,
                warnings: check.warnings,
            }
        }
        Err(invalid) => Preview {
            data_uri: None,
            problem: Some(invalid.to_string()),
            facts: Vec::new(),
            warnings: Vec::new(),
        },
    }
}

/// A link's page, its code drawn in its saved style.
pub async fn show(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Path(raw): Path<String>,
    Query(days): Query<DaysQuery>,
) -> Result<Response, AdminError> {
    let link = state.store.link(&parse_slug(&raw)?).await?;
    let styling = saved_styling(&state, &link).await?;
    link_page(
        &state,
        &signed,
        link,
        days.days,
        styling,
        None,
        StatusCode::OK,
    )
    .await
}

fn invalid_logo(error: qrlink_qr::Error) -> qrlink_core::error::Invalid {
    match error {
        qrlink_qr::Error::InvalidOption {
            field,
            rule,
            message,
        } => qrlink_core::error::Invalid::new(field, rule, message),
        other => qrlink_core::error::Invalid::new("logo", other.code(), other.to_string()),
    }
}

/// The style editor's form, posted with its logo as `multipart/form-data`. With `save=1` it
/// saves the style (only one that scans); otherwise it draws the code as the form says and
/// stores nothing. htmx posts it at every change and gets the preview alone (`HX-Target:
/// qr-preview`), so a logo shows before it is saved.
pub async fn style(
    State(state): State<Arc<AppState>>,
    Path(raw): Path<String>,
    signed: Signed,
    headers: HeaderMap,
    multipart: axum::extract::Multipart,
) -> Result<Response, AdminError> {
    let form = super::read_multipart(&signed, multipart, "logo").await?;
    let link = state.store.link(&parse_slug(&raw)?).await?;
    let saved = saved_styling(&state, &link).await?;
    if form.field("apply_preset") == "1" {
        // Starting from a preset: its options and logo, shown in the editor, not saved yet.
        let name = form.field("preset");
        let (_, preset) = state
            .store
            .style_presets()
            .await?
            .into_iter()
            .find(|(preset, _)| preset == name)
            .ok_or_else(|| {
                qrlink_core::error::Invalid::new(
                    "preset",
                    "exists",
                    format!("there is no preset named `{name}`"),
                )
            })?;
        let preset = Styling::from_saved(preset);
        let styling = Styling {
            unsaved: true,
            pending_logo: preset.logo.is_some(),
            saved_logo: saved.saved_logo,
            ..preset
        };
        return link_page(&state, &signed, link, None, styling, None, StatusCode::OK).await;
    }
    let query = serde_urlencoded::to_string(&form.fields).unwrap_or_default();
    let params: QrParams = serde_urlencoded::from_str(&query)
        .map_err(|error| qrlink_core::error::Invalid::new("style", "format", error.to_string()))?;
    let logo_size = match form.field("logo_size") {
        "" => DEFAULT_LOGO_SIZE,
        size => size.parse().map_err(|_| {
            qrlink_core::error::Invalid::new(
                "logo_size",
                "range",
                "the logo is 5 to 40 % of the code's width",
            )
        })?,
    };
    let pending = match form.field("pending_logo") {
        "" => None,
        text => Some(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| {
                    qrlink_core::error::Invalid::new(
                        "logo",
                        "format",
                        "the logo was garbled; choose it again",
                    )
                })?,
        ),
    };
    // A new file first, then the one carried from a preview, then the saved one if kept.
    let (logo, pending_logo) = match (
        form.file.as_ref().or(pending.as_ref()),
        form.field("keep_logo"),
    ) {
        (Some(upload), _) => {
            let decoded = qrlink_qr::Logo::decode(upload, logo_size).map_err(invalid_logo)?;
            if decoded.png().len() > MAX_STORED_LOGO {
                return Err(qrlink_core::error::Invalid::new(
                    "logo",
                    "too_large",
                    "the logo is more than 1 MiB as a PNG; a few hundred pixels wide is plenty",
                )
                .into());
            }
            let logo = LinkLogo {
                png: decoded.png().to_vec(),
                size_percent: logo_size,
            };
            (Some(logo), true)
        }
        (None, "true") => {
            let kept = saved.logo.map(|logo| LinkLogo {
                size_percent: logo_size,
                ..logo
            });
            (kept, false)
        }
        (None, _) => (None, false),
    };
    let styling = Styling {
        params: tidy(params),
        saved_logo: saved.saved_logo,
        logo,
        unsaved: true,
        pending_logo,
    };
    let save = form.field("save");
    if save != "1" && save != "preset" {
        if wants_part(&headers, "qr-preview") {
            let preview = preview(&state, &link, &styling).await;
            return Ok(page(&PreviewPart {
                downloads: Vec::new(),
                link: &link,
                preview,
                styling,
            }));
        }
        return link_page(&state, &signed, link, None, styling, None, StatusCode::OK).await;
    }
    if save == "preset" {
        signed.require_admin()?;
    } else if !signed.user().rights().may_change(&link) {
        return Err(AdminError::Forbidden(format!(
            "you cannot change the style of `{}`",
            link.slug
        )));
    }
    // Only a style that scans is saved: it is rendered once, verified.
    let check = QrParams {
        format: Some("svg".into()),
        ..styling.params.clone()
    };
    if let Err(error) = link_image(&state, &link, check, styling.logo.clone()).await {
        let qrlink_core::Error::Invalid(invalid) = error else {
            return Err(error.into());
        };
        let message = format!("The style was not saved: the code would not scan. {invalid}");
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return link_page(&state, &signed, link, None, styling, Some(message), status).await;
    }
    let now = state.clock.now();
    if save == "preset" {
        let name = form.field("preset_name");
        state
            .store
            .save_style_preset(name, &styling.to_saved(), now)
            .await?;
    } else {
        state
            .store
            .set_link_style(&link.slug, Some(&styling.to_saved()), now)
            .await?;
    }
    let location = format!("{}links/{}", signed.chrome.admin, link.slug);
    if headers.contains_key("hx-request") {
        // Posted by htmx into the preview: have it load the whole page instead.
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert("hx-redirect", value);
        }
        return Ok(response);
    }
    Ok(see_other(&location))
}

async fn link_page(
    state: &AppState,
    signed: &Signed,
    link: Link,
    days: Option<u32>,
    styling: Styling,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AdminError> {
    let instance = &state.settings.instance;
    let days = days.filter(|d| [30, 90, 365].contains(d)).unwrap_or(30);
    let now = state.clock.now();
    let history = state
        .store
        .history(&link.slug)
        .await?
        .into_iter()
        .rev()
        .map(|entry| HistoryRow {
            seq: entry.seq,
            at: display_time(entry.at, instance),
            actor: entry.actor.clone(),
            interface: entry.interface.as_str(),
            what: describe_change(&entry.change, instance),
            reason: entry.reason.clone().unwrap_or_default(),
            restorable: entry
                .change
                .target_set()
                .filter(|target| *target != link.target.as_str())
                .map(str::to_owned),
        })
        .collect();
    let schedule = link
        .schedule
        .iter()
        .map(|entry| ScheduleRow {
            id: entry.id,
            at: display_time(entry.at, instance),
            what: match &entry.action {
                ScheduledAction::Target { target } => {
                    format!("go to {}", target.to_unicode_display())
                }
                ScheduledAction::Retire => "retire".into(),
            },
            actor: entry.actor.clone(),
        })
        .collect();
    let counts = state.store.daily_counts(&link.slug).await?;
    let chart = chart::bars(&chart::daily_hits(
        &counts,
        qrlink_core::counts::utc_day(now),
        days,
    ));
    let preview = preview(state, &link, &styling).await;
    let page_body = LinkPage {
        c: &signed.chrome,
        short_url: instance.base().link_url(&link.slug),
        target: link.state_at(now).target.shown(),
        may_change: signed.user().rights().may_change(&link),
        history,
        schedule,
        chart,
        days,
        downloads: downloads(&signed.chrome, &link),
        styling,
        preview,
        time_zone: instance.time_zone.iana_name().unwrap_or("UTC").to_owned(),
        error,
        presets: state
            .store
            .style_presets()
            .await?
            .into_iter()
            .map(|(name, _)| name)
            .collect(),
        link: &link,
    };
    Ok(html(status, render(&page_body)))
}

#[derive(Debug, Deserialize)]
pub struct ImageQuery {
    format: Option<String>,
}

/// A download of the link's code in its saved style, in any format, verified before it is
/// sent.
pub async fn qr(
    State(state): State<Arc<AppState>>,
    _signed: Signed,
    Path(raw): Path<String>,
    Query(format): Query<ImageQuery>,
) -> Result<Response, AdminError> {
    let link = state.store.link(&parse_slug(&raw)?).await?;
    let format = format.format.unwrap_or_else(|| "svg".into());
    let styling = saved_styling(&state, &link).await?;
    let params = QrParams {
        format: Some(format.clone()),
        ..styling.params
    };
    let image = link_image(&state, &link, params, styling.logo).await?;
    let mut response = image.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(image.content_type),
    );
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}.{format}\"", link.slug))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The link `raw`, if the signed-in user may change it.
async fn changeable(state: &AppState, signed: &Signed, raw: &str) -> Result<Link, AdminError> {
    let link = state.store.link(&parse_slug(raw)?).await?;
    match signed.user().rights() {
        rights if rights.may_change(&link) => Ok(link),
        LinkRights::None => Err(AdminError::Forbidden("viewers cannot change links".into())),
        _ => Err(AdminError::Forbidden(format!(
            "`{}` belongs to another user; an admin can grant you all links",
            link.slug
        ))),
    }
}

/// Runs a change of a link and shows its page again: on success by a redirect, on a refusal
/// with the reason next to the forms (422 or 409), nothing changed.
async fn after_change(
    state: &AppState,
    signed: &Signed,
    link: Link,
    outcome: Result<Link, qrlink_core::Error>,
) -> Result<Response, AdminError> {
    match outcome {
        Ok(changed) => Ok(see_other(&format!(
            "{}links/{}",
            signed.chrome.admin, changed.slug
        ))),
        Err(error @ qrlink_core::Error::Invalid(_)) => {
            let message = error.to_string();
            let styling = saved_styling(state, &link).await?;
            link_page(
                state,
                signed,
                link,
                None,
                styling,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(
            error @ (qrlink_core::Error::ConfirmationRequired(_)
            | qrlink_core::Error::LockedRename(_)
            | qrlink_core::Error::SlugTaken(_)),
        ) => {
            let message = error.to_string();
            let styling = saved_styling(state, &link).await?;
            link_page(
                state,
                signed,
                link,
                None,
                styling,
                Some(message),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

/// A printed link's change is confirmed by typing its slug again (R-LNK-5).
fn confirmed(link: &Link, typed: &str) -> bool {
    Slug::parse(typed.trim()).is_ok_and(|typed| typed == link.slug)
}

#[derive(Debug, Deserialize)]
pub struct TargetForm {
    #[serde(default)]
    target: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}

/// The inline form re-pointing a link from the list.
pub async fn target_edit(
    State(state): State<Arc<AppState>>,
    Path(raw): Path<String>,
    signed: Signed,
) -> Result<Response, AdminError> {
    let link = changeable(&state, &signed, &raw).await?;
    let value = link.target.to_string();
    let row = Row::new(link, &signed.user().rights());
    Ok(page(&TargetEdit {
        c: &signed.chrome,
        row,
        value,
        error: None,
    }))
}

/// A list row's target again (the inline form's Cancel).
pub async fn target_cell(
    State(state): State<Arc<AppState>>,
    Path(raw): Path<String>,
    signed: Signed,
) -> Result<Response, AdminError> {
    let link = state.store.link(&parse_slug(&raw)?).await?;
    let row = Row::new(link, &signed.user().rights());
    Ok(page(&TargetCell {
        c: &signed.chrome,
        row,
    }))
}

/// Re-points a link, now or from a time on. From the list's inline form (htmx asks for the
/// row's target cell), the answer is the cell, or the form again with the reason; htmx swaps
/// only successful answers, so a refusal comes as 200 there.
pub async fn set_target(
    State(state): State<Arc<AppState>>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    post: Post<TargetForm>,
) -> Result<Response, AdminError> {
    let Post { signed, form } = post;
    let link = changeable(&state, &signed, &raw).await?;
    let instance = &state.settings.instance;
    let outcome = async {
        let target = TargetUrl::parse(form.target.trim(), &instance.policy)?;
        let at = optional(&form.at)
            .map(|at| parse_instant(at, &instance.time_zone))
            .transpose()?;
        let reason = parse_text("reason", &form.reason, MAX_REASON, false)?;
        let change = TargetChange {
            slug: &link.slug,
            target: &target,
            at,
            reason: optional(&reason),
            confirm: confirmed(&link, &form.confirm),
        };
        let now = state.clock.now();
        state.store.set_target(change, &signed.actor(), now).await
    }
    .await;
    if wants_part(&headers, &format!("target-{}", link.slug)) {
        let rights = signed.user().rights();
        return match outcome {
            Ok(changed) => Ok(page(&TargetCell {
                c: &signed.chrome,
                row: Row::new(changed, &rights),
            })),
            Err(
                error @ (qrlink_core::Error::Invalid(_)
                | qrlink_core::Error::ConfirmationRequired(_)),
            ) => Ok(page(&TargetEdit {
                c: &signed.chrome,
                row: Row::new(link, &rights),
                value: form.target,
                error: Some(error.to_string()),
            })),
            Err(error) => Err(error.into()),
        };
    }
    after_change(&state, &signed, link, outcome).await
}

#[derive(Debug, Deserialize)]
pub struct DetailsForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    tags: String,
}

pub async fn details(
    State(state): State<Arc<AppState>>,
    Path(raw): Path<String>,
    post: Post<DetailsForm>,
) -> Result<Response, AdminError> {
    let Post { signed, form } = post;
    let link = changeable(&state, &signed, &raw).await?;
    let outcome = async {
        let details = LinkDetails {
            title: Some(parse_text("title", &form.title, MAX_TITLE, false)?),
            notes: Some(parse_text("notes", &form.notes, MAX_NOTES, true)?),
            tags: Some(tags(&form.tags)?),
            ..LinkDetails::default()
        };
        let now = state.clock.now();
        state
            .store
            .update_details(&link.slug, &details, &signed.actor(), now)
            .await
    }
    .await;
    after_change(&state, &signed, link, outcome).await
}

#[derive(Debug, Deserialize)]
pub struct LockForm {
    locked: bool,
}

pub async fn lock(
    State(state): State<Arc<AppState>>,
    Path(raw): Path<String>,
    post: Post<LockForm>,
) -> Result<Response, AdminError> {
    let Post { signed, form } = post;
    let link = changeable(&state, &signed, &raw).await?;
    let outcome = state
        .store
        .set_locked(&link.slug, form.locked, &signed.actor(), state.clock.now())
        .await;
    after_change(&state, &signed, link, outcome).await
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    retired: bool,
    #[serde(default)]
    at: String,
    #[serde(default)]
    confirm: String,
}

pub async fn status(
    State(state): State<Arc<AppState>>,
    Path(raw): Path<String>,
    post: Post<StatusForm>,
) -> Result<Response, AdminError> {
    let Post { signed, form } = post;
    let link = changeable(&state, &signed, &raw).await?;
    let now = state.clock.now();
    let outcome = async {
        if !form.retired {
            return state.store.unretire(&link.slug, &signed.actor(), now).await;
        }
        let at = optional(&form.at)
            .map(|at| parse_instant(at, &state.settings.instance.time_zone))
            .transpose()?;
        let confirm = confirmed(&link, &form.confirm);
        state
            .store
            .retire(&link.slug, at, confirm, &signed.actor(), now)
            .await
    }
    .await;
    after_change(&state, &signed, link, outcome).await
}

#[derive(Debug, Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    slug: String,
}

pub async fn rename(
    State(state): State<Arc<AppState>>,
    Path(raw): Path<String>,
    post: Post<RenameForm>,
) -> Result<Response, AdminError> {
    let Post { signed, form } = post;
    let link = changeable(&state, &signed, &raw).await?;
    let outcome = async {
        let new = Slug::parse(form.slug.trim())?;
        let now = state.clock.now();
        state
            .store
            .rename(&link.slug, &new, &signed.actor(), now)
            .await
    }
    .await;
    after_change(&state, &signed, link, outcome).await
}

#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

/// Brings back the target a history entry set (a new entry; history is never edited).
pub async fn restore(
    State(state): State<Arc<AppState>>,
    Path((raw, seq)): Path<(String, i64)>,
    post: Post<ConfirmForm>,
) -> Result<Response, AdminError> {
    let Post { signed, form } = post;
    let link = changeable(&state, &signed, &raw).await?;
    let outcome = state
        .store
        .restore(
            &link.slug,
            seq,
            &state.settings.instance.policy,
            confirmed(&link, &form.confirm),
            &signed.actor(),
            state.clock.now(),
        )
        .await;
    after_change(&state, &signed, link, outcome).await
}

#[derive(Debug, Deserialize)]
pub struct NoFields {}

pub async fn unschedule(
    State(state): State<Arc<AppState>>,
    Path((raw, id)): Path<(String, i64)>,
    post: Post<NoFields>,
) -> Result<Response, AdminError> {
    let Post { signed, .. } = post;
    let link = changeable(&state, &signed, &raw).await?;
    let outcome = state
        .store
        .unschedule(&link.slug, id, &signed.actor(), state.clock.now())
        .await;
    after_change(&state, &signed, link, outcome).await
}
