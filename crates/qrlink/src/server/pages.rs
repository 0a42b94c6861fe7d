//! The few HTML pages of the public side. askama escapes every value.

use askama::Template;

#[derive(Template)]
#[template(path = "message.html")]
pub struct Message<'a> {
    pub heading: &'a str,
    pub text: &'a str,
}

#[derive(Template)]
#[template(path = "preview.html")]
pub struct Preview<'a> {
    pub short_url: &'a str,
    pub target: &'a str,
    pub target_display: &'a str,
    /// When the host may imitate another (see `TargetUrl::lookalike_warning`).
    pub warning: Option<String>,
    pub title: &'a str,
    pub notes: &'a str,
}

pub const NOT_FOUND: Message<'static> = Message {
    heading: "Not found",
    text: "This short link does not exist (yet). Check the address and try again.",
};
pub const RETIRED: Message<'static> = Message {
    heading: "Link retired",
    text: "This short link has been retired by its owner and no longer forwards.",
};
pub const UNAVAILABLE: Message<'static> = Message {
    heading: "Temporarily unavailable",
    text: "This short link cannot be looked up right now. Please try again in a moment.",
};
pub const TOO_MANY: Message<'static> = Message {
    heading: "Too many requests",
    text: "Too many requests for unknown short links came from your network. Please wait a moment and try again.",
};
pub const HOME: Message<'static> = Message {
    heading: "qrlink",
    text: "This server forwards short links and QR codes.",
};

pub fn render(template: &impl Template) -> String {
    template.render().unwrap_or_else(|error| {
        tracing::error!(%error, "template failed to render");
        String::from("<!doctype html><title>Error</title><p>Something went wrong.</p>")
    })
}
