//! [`Scrub`]: walk every string of a finished report and remove the check's
//! [`Secrets`] from it. Applied once, where the report is finalized, so every
//! consumer (renderers, alerts, the API, the page, the store) reads the same
//! scrubbed model. Each impl destructures its type completely, so a new field
//! fails to compile until someone decides whether it can carry a secret.

use super::CheckReport;
use super::attempt::AttemptReport;
use super::error::{AddrFailure, CheckError};
use super::failure::{Awaited, ProtocolRule, ProxyHop, ProxyReply};
use super::model::{CertInfo, CloseFrameInfo, CloseInfo, Event, ResponseHead, TlsInfo, Warning};
use super::secrets::Secrets;
use super::source::SourceProblem;
use super::upgrade::RequestHead;

/// Something that can hold evidence a server wrote back.
pub trait Scrub {
    /// Replace every known secret value in `self` with a mask.
    fn scrub(&mut self, secrets: &Secrets);
}

impl Scrub for String {
    fn scrub(&mut self, secrets: &Secrets) {
        secrets.scrub_str(self);
    }
}

impl<T: Scrub> Scrub for Option<T> {
    fn scrub(&mut self, secrets: &Secrets) {
        if let Some(v) = self {
            v.scrub(secrets);
        }
    }
}

impl<T: Scrub> Scrub for Vec<T> {
    fn scrub(&mut self, secrets: &Secrets) {
        for v in self {
            v.scrub(secrets);
        }
    }
}

impl<A: Scrub, B: Scrub> Scrub for (A, B) {
    fn scrub(&mut self, secrets: &Secrets) {
        self.0.scrub(secrets);
        self.1.scrub(secrets);
    }
}

impl Scrub for CheckReport {
    fn scrub(&mut self, secrets: &Secrets) {
        let CheckReport {
            url,
            pinned_address,
            attempts,
            limits: _,
        } = self;
        url.scrub(secrets);
        pinned_address.scrub(secrets);
        attempts.scrub(secrets);
    }
}

impl Scrub for AttemptReport {
    fn scrub(&mut self, secrets: &Secrets) {
        let AttemptReport {
            number: _,
            started_at: _,
            class: _,
            phase: _,
            message,
            hint,
            error,
            address,
            local_address: _,
            proxy,
            timings: _,
            request,
            response,
            subprotocol,
            tls,
            close,
            bytes_sent: _,
            bytes_received: _,
            warnings,
            events,
        } = self;
        message.scrub(secrets);
        hint.scrub(secrets);
        error.scrub(secrets);
        address.scrub(secrets);
        proxy.scrub(secrets);
        request.scrub(secrets);
        response.scrub(secrets);
        subprotocol.scrub(secrets);
        tls.scrub(secrets);
        close.scrub(secrets);
        warnings.scrub(secrets);
        events.scrub(secrets);
    }
}

impl Scrub for CheckError {
    fn scrub(&mut self, secrets: &Secrets) {
        match self {
            CheckError::Dns { host, reason } => {
                host.scrub(secrets);
                reason.scrub(secrets);
            }
            CheckError::Connect { failures } => failures.scrub(secrets),
            CheckError::Proxy { proxy, hop } => {
                proxy.scrub(secrets);
                hop.scrub(secrets);
            }
            CheckError::Tls {
                reason,
                certificate,
                ..
            } => {
                reason.scrub(secrets);
                certificate.scrub(secrets);
            }
            CheckError::Timeout {
                awaited, detail, ..
            } => {
                awaited.scrub(secrets);
                detail.scrub(secrets);
            }
            CheckError::Missing101 { response } => response.scrub(secrets),
            CheckError::Protocol { rule, .. } => rule.scrub(secrets),
            CheckError::MessageTooLarge { what, .. } => what.scrub(secrets),
            CheckError::EarlyFin { close_frame, .. } => close_frame.scrub(secrets),
            CheckError::UnexpectedMessage {
                expected,
                received,
                step,
                recent,
            } => {
                expected.scrub(secrets);
                received.scrub(secrets);
                if let Some(step) = step {
                    step.description.scrub(secrets);
                }
                for message in recent {
                    message.scrub(secrets);
                }
            }
            // Counts and durations only: nothing a peer could have echoed.
            CheckError::ControlFlood { .. } | CheckError::Slow { .. } => {}
            // The operating system's own text: scrubbed all the same, it is free text.
            CheckError::Local { message, .. } => message.scrub(secrets),
            // An address from the config and the kernel's words about binding it.
            CheckError::SourceAddress { problem, .. } => match problem {
                SourceProblem::BindFailed { message, .. } => message.scrub(secrets),
                SourceProblem::FamilyMismatch { .. } | SourceProblem::NotAssigned => {}
            },
        }
    }
}

impl Scrub for AddrFailure {
    fn scrub(&mut self, secrets: &Secrets) {
        let AddrFailure {
            addr,
            cause: _,
            errno,
            message,
        } = self;
        addr.scrub(secrets);
        errno.scrub(secrets);
        message.scrub(secrets);
    }
}

impl Scrub for Awaited {
    fn scrub(&mut self, secrets: &Secrets) {
        match self {
            Awaited::ProxyConnect { proxy } | Awaited::ProxyTunnel { proxy } => {
                proxy.scrub(secrets)
            }
            Awaited::ExpectedMessage { pattern } => pattern.scrub(secrets),
            Awaited::StepReply { description, .. } => description.scrub(secrets),
            Awaited::NameResolved
            | Awaited::TcpConnect
            | Awaited::TlsHandshake
            | Awaited::RequestWritten
            | Awaited::ResponseHead
            | Awaited::Pong
            | Awaited::PongWhileHolding
            | Awaited::FrameWritten
            | Awaited::CloseReply => {}
        }
    }
}

impl Scrub for ProtocolRule {
    fn scrub(&mut self, secrets: &Secrets) {
        use ProtocolRule as R;
        match self {
            R::NotHttp { first_bytes, .. } => first_bytes.scrub(secrets),
            R::MalformedHead {
                parser_error,
                first_bytes,
            } => {
                parser_error.scrub(secrets);
                first_bytes.scrub(secrets);
            }
            R::WrongAccept { received, expected } => {
                received.scrub(secrets);
                expected.scrub(secrets);
            }
            R::NoSubprotocolChosen { offered } => offered.scrub(secrets),
            R::UnofferedSubprotocol { chosen, offered } => {
                chosen.scrub(secrets);
                offered.scrub(secrets);
            }
            R::HeadCutShort { partial: text }
            | R::ReadFailed { message: text }
            | R::WrongHttpVersion { version: text }
            | R::WrongUpgrade { value: text }
            | R::UnrequestedSubprotocol { chosen: text }
            | R::UnrequestedExtension { extension: text }
            | R::InvalidFrame { detail: text }
            | R::InvalidUtf8 { detail: text }
            | R::ConnectionFailed { message: text } => text.scrub(secrets),
            // Escaped, a secret in the reason keeps its ASCII spelling; the
            // server fits its reason into 123 bytes, so it may cut one.
            R::InvalidCloseReason {
                code: _,
                reason_bytes,
            } => secrets.scrub_capped(reason_bytes),
            // Limits and absences: nothing a peer wrote.
            R::IncompleteHead
            | R::TooManyHeaders { .. }
            | R::HeadTooLarge { .. }
            | R::MissingUpgrade
            | R::MissingConnectionUpgrade
            | R::MissingAccept => {}
        }
    }
}

impl Scrub for ProxyHop {
    fn scrub(&mut self, secrets: &Secrets) {
        match self {
            ProxyHop::ProxyUnreachable { failures } => failures.scrub(secrets),
            ProxyHop::RefusedByPolicy { reply }
            | ProxyHop::TargetUnreachable { reply }
            | ProxyHop::ProxyFailed { reply } => match reply {
                ProxyReply::Http {
                    status_line: text, ..
                }
                | ProxyReply::Socks5Auth { meaning: text }
                | ProxyReply::Malformed { what: text } => text.scrub(secrets),
                // A code and RFC 1928's words for it.
                ProxyReply::Socks5 { .. } => {}
            },
        }
    }
}

impl Scrub for RequestHead {
    fn scrub(&mut self, secrets: &Secrets) {
        let RequestHead { line, headers } = self;
        line.scrub(secrets);
        headers.scrub(secrets);
    }
}

impl Scrub for ResponseHead {
    fn scrub(&mut self, secrets: &Secrets) {
        let ResponseHead {
            version,
            status: _,
            reason,
            headers,
            body_snippet,
        } = self;
        version.scrub(secrets);
        reason.scrub(secrets);
        headers.scrub(secrets);
        body_snippet.scrub(secrets);
    }
}

impl Scrub for TlsInfo {
    fn scrub(&mut self, secrets: &Secrets) {
        let TlsInfo {
            version,
            cipher,
            certificate,
            verification_disabled: _,
            client_certificate: _,
        } = self;
        version.scrub(secrets);
        cipher.scrub(secrets);
        certificate.scrub(secrets);
    }
}

impl Scrub for CertInfo {
    fn scrub(&mut self, secrets: &Secrets) {
        let CertInfo {
            subject,
            issuer,
            names,
            not_before: _,
            not_after: _,
            not_after_unix: _,
            days_left: _,
        } = self;
        subject.scrub(secrets);
        issuer.scrub(secrets);
        names.scrub(secrets);
    }
}

impl Scrub for CloseInfo {
    fn scrub(&mut self, secrets: &Secrets) {
        let CloseInfo {
            initiated_by: _,
            server_frame,
            peer_end: _,
            peer_end_at_ms: _,
            clean: _,
        } = self;
        server_frame.scrub(secrets);
    }
}

impl Scrub for CloseFrameInfo {
    fn scrub(&mut self, secrets: &Secrets) {
        let CloseFrameInfo {
            code: _,
            reason,
            category: _,
            name: _,
        } = self;
        // The server fits its reason into 123 bytes: it may cut a secret.
        secrets.scrub_capped(reason);
    }
}

impl Scrub for Event {
    fn scrub(&mut self, secrets: &Secrets) {
        let Event {
            at_ms: _,
            phase: _,
            what,
        } = self;
        what.scrub(secrets);
    }
}

impl Scrub for Warning {
    fn scrub(&mut self, _secrets: &Secrets) {
        // Certificate dates and day counts only: nothing a server chose to echo.
        match self {
            Warning::CertExpiring { .. } | Warning::InsecureTls | Warning::Slow { .. } => {}
        }
    }
}

#[cfg(test)]
#[path = "scrub_tests.rs"]
mod tests;
