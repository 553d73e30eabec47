//! Rendering notifications with minijinja. The built-in templates live in the
//! repository's `templates/` folder and are compiled in, so the binary works
//! from any directory; a channel may replace any of them with its own files,
//! which are read, compiled and tried on a sample notification at startup.
//!
//! Escaping follows the template's role, not the override's file name:
//! `.html` roles are HTML-escaped, `.json` roles JSON-encoded, text roles raw.

use super::budget::{self, FUEL};
use super::channel::AlertError;
use super::delivery_id::DeliveryId;
use super::sample;
use super::settings::{ChannelSettings, TemplateOverrides};
use super::view::{AlertView, one_line, truncate_chars};
use crate::notification::{Notification, NotificationKind};
use minijinja::value::Serde;
use minijinja::{Environment, Value, syntax::SyntaxConfig};
use std::path::{Path, PathBuf};

/// The built-in templates: (file name, source).
pub const BUILTIN: [(&str, &str); 7] = [
    (
        "email_subject.j2",
        include_str!("../../templates/email_subject.j2"),
    ),
    ("email.txt.j2", include_str!("../../templates/email.txt.j2")),
    (
        "email.html.j2",
        include_str!("../../templates/email.html.j2"),
    ),
    (
        "webhook.json.j2",
        include_str!("../../templates/webhook.json.j2"),
    ),
    (
        "slack.json.j2",
        include_str!("../../templates/slack.json.j2"),
    ),
    ("chat.json.j2", include_str!("../../templates/chat.json.j2")),
    ("file.txt.j2", include_str!("../../templates/file.txt.j2")),
];

/// An override path of this form names a built-in template instead of a file,
/// e.g. `builtin:slack.json.j2`, so a Slack channel needs no template on disk.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// What a channel sends, which decides the parts to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// Subject, text and HTML.
    Email,
    /// A JSON request body.
    Webhook,
    /// Text.
    File,
}

impl ChannelKind {
    /// The kind of a configured channel; `None` for the on-call channels,
    /// which build their service's request from the view themselves.
    pub fn of(settings: &ChannelSettings) -> Option<ChannelKind> {
        match settings {
            ChannelSettings::Email(_) => Some(ChannelKind::Email),
            ChannelSettings::Webhook(_) => Some(ChannelKind::Webhook),
            ChannelSettings::File(_) => Some(ChannelKind::File),
            ChannelSettings::OnCall(_) => None,
        }
    }
}

/// The rendered parts of one alert; parts a channel does not need are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Email subject, one line.
    pub subject: String,
    /// Plain text (email body or file entry).
    pub text: String,
    /// HTML email body.
    pub html: String,
    /// Webhook request body, valid JSON.
    pub body: String,
}

/// One part of an alert, bound to a template name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Subject,
    EmailText,
    FileText,
    Html,
    Body,
}

impl Part {
    /// The built-in template of this part.
    fn builtin(self) -> &'static str {
        match self {
            Part::Subject => "email_subject.j2",
            Part::EmailText => "email.txt.j2",
            Part::FileText => "file.txt.j2",
            Part::Html => "email.html.j2",
            Part::Body => "webhook.json.j2",
        }
    }

    /// The name an override of this part is registered under; its extension
    /// selects the escaping.
    fn override_name(self) -> &'static str {
        match self {
            Part::Subject => "override/subject.txt.j2",
            Part::EmailText | Part::FileText => "override/text.txt.j2",
            Part::Html => "override/email.html.j2",
            Part::Body => "override/body.json.j2",
        }
    }
}

/// Templates for one channel: the built-ins plus that channel's overrides.
#[derive(Debug)]
pub struct Renderer {
    env: Environment<'static>,
    overrides: TemplateOverrides,
    /// The channel's name, added to errors of alerts rendered for it.
    channel: Option<String>,
}

impl Renderer {
    /// Compile the built-in templates and read `overrides`. Each override is
    /// tried on sample notifications of every kind, so a template that does
    /// not compile, fails at run time or (for a body) does not produce valid
    /// JSON is refused here, with its path, instead of at the first outage.
    pub fn new(overrides: &TemplateOverrides) -> Result<Renderer, AlertError> {
        let mut env = environment();
        for (name, source) in BUILTIN {
            env.add_template(name, source)
                .map_err(|e| AlertError::Template {
                    name: name.to_string(),
                    reason: describe(&e),
                })?;
        }
        let slots = [
            (&overrides.subject, Part::Subject),
            (&overrides.text, Part::EmailText),
            (&overrides.html, Part::Html),
            (&overrides.body, Part::Body),
        ];
        for (path, part) in slots {
            let Some(path) = path else { continue };
            let source = read_override(path)?;
            env.add_template_owned(part.override_name(), source)
                .map_err(|e| file_error(path, &e))?;
        }
        let renderer = Renderer {
            env,
            overrides: overrides.clone(),
            channel: None,
        };
        renderer.try_overrides()?;
        Ok(renderer)
    }

    /// Name errors of alerts rendered from now on after `channel` (the
    /// errors of [`Renderer::new`] are named by whoever builds the channel).
    pub fn for_channel(mut self, channel: &str) -> Renderer {
        self.channel = Some(channel.to_string());
        self
    }

    /// Render the parts `kind` needs for `n`, outside any delivery (previews,
    /// tests): `delivery_id` is null.
    pub fn render(&self, kind: ChannelKind, n: &Notification) -> Result<Rendered, AlertError> {
        self.render_delivery(kind, n, None)
    }

    /// Render the parts `kind` needs for `n`, delivered under `id`, each
    /// within the limits of [`budget`]; an error names the template and, if
    /// known, the channel.
    pub fn render_delivery(
        &self,
        kind: ChannelKind,
        n: &Notification,
        id: Option<&DeliveryId>,
    ) -> Result<Rendered, AlertError> {
        self.render_parts(kind, n, id)
            .map_err(|e| match &self.channel {
                Some(channel) => AlertError::Channel {
                    channel: channel.clone(),
                    source: Box::new(e),
                },
                None => e,
            })
    }

    fn render_parts(
        &self,
        kind: ChannelKind,
        n: &Notification,
        id: Option<&DeliveryId>,
    ) -> Result<Rendered, AlertError> {
        let view = context(n, id);
        let mut out = Rendered::default();
        match kind {
            ChannelKind::Email => {
                out.subject = one_line(self.part(Part::Subject, &view)?.trim());
                out.text = self.part(Part::EmailText, &view)?;
                out.html = self.part(Part::Html, &view)?;
            }
            ChannelKind::Webhook => out.body = self.part(Part::Body, &view)?,
            ChannelKind::File => out.text = self.part(Part::FileText, &view)?,
        }
        Ok(out)
    }

    /// The override file of `part`, when the channel has one.
    fn override_path(&self, part: Part) -> Option<&PathBuf> {
        match part {
            Part::Subject => self.overrides.subject.as_ref(),
            Part::EmailText | Part::FileText => self.overrides.text.as_ref(),
            Part::Html => self.overrides.html.as_ref(),
            Part::Body => self.overrides.body.as_ref(),
        }
    }

    fn part(&self, part: Part, view: &Value) -> Result<String, AlertError> {
        let overridden = self.override_path(part);
        let name = match overridden {
            Some(_) => part.override_name(),
            None => part.builtin(),
        };
        let label = || match overridden {
            Some(p) => p.display().to_string(),
            None => name.to_string(),
        };
        let template = self
            .env
            .get_template(name)
            .map_err(|e| AlertError::Template {
                name: label(),
                reason: describe(&e),
            })?;
        let out = budget::render(&template, view).map_err(|e| AlertError::Template {
            name: label(),
            reason: e.reason(describe),
        })?;
        if part == Part::Body
            && let Err(e) = serde_json::from_str::<serde_json::Value>(&out)
        {
            return Err(AlertError::InvalidJson {
                name: label(),
                reason: e.to_string(),
            });
        }
        Ok(out)
    }

    /// Render every override with the sample notifications.
    fn try_overrides(&self) -> Result<(), AlertError> {
        let parts = [Part::Subject, Part::EmailText, Part::Html, Part::Body];
        for kind in [
            NotificationKind::Down,
            NotificationKind::Recovered,
            NotificationKind::Reminder,
        ] {
            let view = context(&sample::notification(kind), Some(&sample::delivery_id()));
            for part in parts {
                if self.override_path(part).is_some() {
                    self.part(part, &view)?;
                }
            }
        }
        Ok(())
    }
}

/// The template context of `n`, converted once for all the parts rendered.
fn context(n: &Notification, id: Option<&DeliveryId>) -> Value {
    let mut view = AlertView::new(n);
    view.delivery_id = id.map(|id| id.to_string());
    Value::from(Serde(view))
}

/// The environment every renderer uses: block tags on their own lines leave
/// no blank lines, two filters the built-in templates need, and the fuel
/// that bounds every render.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    let mut syntax = SyntaxConfig::builder();
    syntax.trim_blocks(true).lstrip_blocks(true);
    env.set_syntax(syntax.build().expect("the default delimiters are valid"));
    env.add_filter("truncate", |s: String, max: usize| truncate_chars(&s, max));
    env.add_filter("mrkdwn", |s: String| mrkdwn_escape(&s));
    env
}

/// Slack mrkdwn treats `<…>` as links and `&` as an entity: escape them.
/// Telegram's HTML mode needs exactly these three escaped as well.
pub(crate) fn mrkdwn_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The source of the built-in template `name` (without [`BUILTIN_PREFIX`]).
pub fn builtin_source(name: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, source)| *source)
}

/// Why `name` names no built-in template, with the names there are.
pub fn unknown_builtin(name: &str) -> String {
    format!(
        "no built-in template {name:?} (there are: {})",
        BUILTIN.map(|(n, _)| n).join(", ")
    )
}

fn read_override(path: &Path) -> Result<String, AlertError> {
    if let Some(name) = path.to_str().and_then(|p| p.strip_prefix(BUILTIN_PREFIX)) {
        return builtin_source(name)
            .map(str::to_string)
            .ok_or_else(|| AlertError::TemplateFile {
                path: path.to_path_buf(),
                reason: unknown_builtin(name),
            });
    }
    std::fs::read_to_string(path).map_err(|e| AlertError::TemplateFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn file_error(path: &Path, e: &minijinja::Error) -> AlertError {
    AlertError::TemplateFile {
        path: path.to_path_buf(),
        reason: describe(e),
    }
}

/// minijinja's message with the line, without the template's internal name.
fn describe(e: &minijinja::Error) -> String {
    let mut s = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(line) = e.line() {
        s = format!("line {line}: {s}");
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    s
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
