//! The byte stream under the WebSocket: a tap that counts bytes and notices how
//! and when the peer ended the connection (FIN or RST), so "who closed and when"
//! is evidence rather than a guess from a library error.

use super::close_watch::{CloseWatch, RawClose};
use super::model::PeerEnd;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Any bidirectional async byte stream (plain TCP or TLS).
pub trait AsyncIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncIo for T {}

/// A stream wrapper that records traffic and the peer's end of the connection.
pub struct Tap {
    inner: Box<dyn AsyncIo>,
    origin: Instant,
    sent: u64,
    received: u64,
    peer_end: Option<(PeerEnd, f64)>,
    /// Follows the frames once the 101 is read (see [`Tap::watch_frames`]).
    close_watch: Option<CloseWatch>,
}

impl Tap {
    /// Wrap `inner`; times are measured from `origin` (the attempt's start).
    pub fn new(inner: Box<dyn AsyncIo>, origin: Instant) -> Tap {
        Tap {
            inner,
            origin,
            sent: 0,
            received: 0,
            peer_end: None,
            close_watch: None,
        }
    }

    /// From here on, follow the server's frames for its Close frame;
    /// `already_read` are the bytes read past the 101's head.
    pub fn watch_frames(&mut self, already_read: &[u8]) {
        let mut watch = CloseWatch::default();
        watch.feed(already_read);
        self.close_watch = Some(watch);
    }

    /// The latest Close frame the server sent, as sent.
    pub fn server_close(&self) -> Option<RawClose> {
        self.close_watch.as_ref()?.last_close()
    }

    /// Bytes written so far on this connection.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Bytes read so far on this connection.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// How the peer ended the connection, and when (ms since the attempt's start).
    pub fn peer_end(&self) -> Option<(PeerEnd, f64)> {
        self.peer_end
    }

    fn note_end(&mut self, how: PeerEnd) {
        if self.peer_end.is_none() {
            let ms = super::timeline::ms_between(self.origin, Instant::now());
            self.peer_end = Some((how, ms));
        }
    }

    fn note_error(&mut self, err: &io::Error) {
        match err.kind() {
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
                self.note_end(PeerEnd::Rst)
            }
            // TLS peers that end TCP without a close_notify surface as an
            // unexpected EOF from rustls: on the wire that is still a FIN.
            io::ErrorKind::UnexpectedEof => self.note_end(PeerEnd::Fin),
            _ => {}
        }
    }
}

impl AsyncRead for Tap {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        match &result {
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len() - before;
                if n == 0 && buf.remaining() > 0 {
                    self.note_end(PeerEnd::Fin);
                } else {
                    self.received += n as u64;
                    let fresh = &buf.filled()[before..];
                    if let Some(watch) = &mut self.close_watch {
                        watch.feed(fresh);
                    }
                }
            }
            Poll::Ready(Err(e)) => self.note_error(e),
            Poll::Pending => {}
        }
        result
    }
}

impl AsyncWrite for Tap {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        match &result {
            Poll::Ready(Ok(n)) => self.sent += *n as u64,
            Poll::Ready(Err(e)) => self.note_error(e),
            Poll::Pending => {}
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
