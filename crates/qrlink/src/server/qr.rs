//! A link's QR code as the API and the admin render it: the options of `qrlink qr`, bounded
//! so that no request can ask for gigabytes of pixels, encoding the link's short URL, and
//! verified by a decoder before anyone gets it (R-QR-4).

use qrlink_core::error::{Error, Invalid};
use qrlink_core::link::{Link, parse_text};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::AppState;
use crate::qr_cmd::Image;

/// The query of a QR request: format, colours, shapes and size.
#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrParams {
    /// `svg` (default), `png`, `pdf`, `eps` or `txt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Error correction: `L`, `M` (default), `Q` or `H`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecc: Option<String>,
    /// Quiet zone in modules (default 4).
    #[param(maximum = 64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub border: Option<usize>,
    /// Pixels per module (PNG).
    #[param(minimum = 1, maximum = 100)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// Printed width in millimetres (PDF, EPS).
    #[param(maximum = 2000)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mm: Option<f64>,
    /// Dark colour, `#rrggbb`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dark: Option<String>,
    /// Light colour, `#rrggbb` or `transparent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub light: Option<String>,
    /// `square`, `rounded`, `dot`, `gapped`, `hbars` or `vbars`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<String>,
    /// Finder pattern: `square`, `rounded` or `dot`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finder: Option<String>,
    /// Keep exactly the requested level instead of raising it for free when there is room.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_boost: bool,
    /// Exactly this version (1-40; 1-4 with `micro`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u8>,
    /// Mask pattern 0-7 (0-3 for Micro QR); the best one when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask: Option<u8>,
    /// Micro QR, where the payload fits.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub micro: bool,
    /// Image width in pixels (PNG), instead of `scale`.
    #[param(minimum = 1, maximum = 3000)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// Resolution for `mm` (default 300).
    #[param(minimum = 1, maximum = 2400)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpi: Option<u32>,
    /// `linear` or `radial`, from `dark` to `dark2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gradient: Option<String>,
    /// The gradient's second colour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dark2: Option<String>,
    /// A caption under the code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Caption the code with its short URL (instead of `caption`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub url_caption: bool,
}

/// A logo for the centre of a link's code: a re-encoded PNG and its width in percent.
#[derive(Debug, Clone)]
pub struct LinkLogo {
    pub png: Vec<u8>,
    pub size_percent: u8,
}

/// The widest PNG the server draws: 3,000 pixels (25 cm at 300 dpi); larger prints are for
/// the vector formats, which are verified at a camera's resolution whatever their size.
pub const MAX_PNG_SIDE: u32 = 3_000;

/// Renders that run at once, whatever the number of cores: the largest styled PNG holds about
/// 75 MiB while it is drawn and verified, so two bound renders to about 160 MiB (measured by
/// the test `eight_parallel_largest_renders_stay_within_250_mb`). Typical codes take
/// milliseconds, so two slots serve an admin's live preview and downloads without queueing.
pub const RENDER_SLOTS: usize = 2;

/// How long a render waits for a free slot before the server answers 503.
const RENDER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Renders `link`'s code as `params` ask, verified; an invalid option names its field and
/// rule. At most [`RENDER_SLOTS`] renders run at once (R-SEC-13); a request that waits longer
/// than [`RENDER_WAIT`] for its turn gets [`Error::Busy`].
pub async fn link_image(
    state: &AppState,
    link: &Link,
    params: QrParams,
    logo: Option<LinkLogo>,
) -> Result<Image, Error> {
    let format = params.format.unwrap_or_else(|| "svg".to_owned());
    if format == "terminal" {
        return Err(Invalid::new("format", "one_of", "format is svg, png, pdf, eps or txt").into());
    }
    // Bounds on the image's size, so that no request can ask for gigabytes of pixels. Each
    // value must lie above 0 (a quiet zone may be 0) and at most the bound.
    let limits: [(&'static str, Option<f64>, bool, f64); 5] = [
        ("scale", params.scale.map(f64::from), false, 100.0),
        (
            "size",
            params.size.map(f64::from),
            false,
            f64::from(MAX_PNG_SIDE),
        ),
        ("border", params.border.map(|b| b as f64), true, 64.0),
        ("mm", params.mm, false, 2_000.0),
        ("dpi", params.dpi.map(f64::from), false, 2_400.0),
    ];
    for (field, value, zero_allowed, max) in limits {
        let Some(value) = value else { continue };
        let above_minimum = value > 0.0 || (zero_allowed && value == 0.0);
        if !(above_minimum && value <= max) {
            let minimum = if zero_allowed { "0 or more" } else { "above 0" };
            let message = format!("{field} is {minimum} and at most {max}");
            return Err(Invalid::new(field, "range", message).into());
        }
    }
    let dpi = params.dpi.unwrap_or(300);
    if params.url_caption && params.caption.is_some() {
        return Err(Invalid::new(
            "caption",
            "exclusive",
            "give `caption` or `url_caption`, not both",
        )
        .into());
    }
    let defaults = crate::cli::RenderArgs::default();
    let args = crate::cli::RenderArgs {
        format: Some(format),
        ecc: params.ecc,
        no_boost: params.no_boost,
        version: params.version,
        mask: params.mask,
        micro: params.micro,
        border: params.border,
        scale: params.scale,
        size: params.size,
        mm: params.mm,
        dpi,
        gradient: params.gradient,
        dark2: params.dark2,
        dark: params.dark.unwrap_or(defaults.dark.clone()),
        light: params.light.unwrap_or(defaults.light.clone()),
        shape: params.shape.unwrap_or(defaults.shape.clone()),
        finder: params.finder.unwrap_or(defaults.finder.clone()),
        caption: match params.url_caption {
            true => Some(crate::link_cmd::readable_url(
                &state.settings.base().link_url(&link.slug),
            )),
            false => params
                .caption
                .as_deref()
                .map(|caption| parse_text("caption", caption, 100, false))
                .transpose()?,
        },
        logo_size: logo
            .as_ref()
            .map_or(defaults.logo_size, |logo| logo.size_percent),
        logo_bytes: logo.map(|logo| logo.png),
        max_png_side: Some(MAX_PNG_SIDE),
        ..defaults
    };
    let payload = state.settings.instance.link_payload(&link.slug);
    let busy = Error::Busy {
        retry_after: std::time::Duration::from_secs(5),
    };
    let slot = tokio::time::timeout(RENDER_WAIT, state.renders.clone().acquire_owned())
        .await
        .map_err(|_| busy)?
        .expect("never closed");
    // Rendering and decoding take milliseconds of CPU: off the async workers. The slot goes
    // with the work, so a request dropped meanwhile does not free it early.
    let image = tokio::task::spawn_blocking(move || {
        let image = crate::qr_cmd::image(&payload, &args);
        drop(slot);
        image
    })
    .await
    .map_err(|_| Invalid::new("qr", "render", "rendering failed"))?
    .map_err(|error| match error.downcast_ref::<qrlink_qr::Error>() {
        Some(qrlink_qr::Error::InvalidOption {
            field,
            rule,
            message,
        }) => Invalid::new(field, rule, message.clone()),
        Some(other) => Invalid::new("qr", other.code(), other.to_string()),
        None => Invalid::new("qr", "options", format!("{error:#}")),
    })?;
    Ok(image)
}
