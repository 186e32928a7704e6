//! The receive limit of gRPC messages, checked on their length prefixes
//! before a message is buffered (tonic's own limit answers OUT_OF_RANGE
//! after buffering; gRPC peers expect RESOURCE_EXHAUSTED).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use tonic::Status;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body that fails with `RESOURCE_EXHAUSTED` as soon as a gRPC
/// message's length prefix announces more than `limit` bytes, before the
/// message is buffered.
pub(crate) struct LimitedBody<B> {
    inner: Pin<Box<B>>,
    limit: usize,
    /// Bytes of the current 5-byte prefix seen so far.
    prefix: [u8; 5],
    prefix_len: usize,
    /// Payload bytes of the current message still to pass through.
    payload_left: usize,
    failed: bool,
}

impl<B> LimitedBody<B> {
    pub(crate) fn new(inner: B, limit: usize) -> Self {
        LimitedBody {
            inner: Box::pin(inner),
            limit,
            prefix: [0; 5],
            prefix_len: 0,
            payload_left: 0,
            failed: false,
        }
    }

    /// Whether the data so far ends inside a prefix or a message.
    fn mid_message(&self) -> bool {
        self.prefix_len > 0 || self.payload_left > 0
    }

    /// The error for data that ends inside a prefix or a message (the
    /// stream then fails), or `None` at a message boundary.
    fn cut_short(&mut self) -> Option<BoxError> {
        if !self.mid_message() {
            return None;
        }
        self.failed = true;
        let missing = if self.prefix_len > 0 {
            format!("{} bytes of a length prefix", 5 - self.prefix_len)
        } else {
            format!("{} bytes of a message", self.payload_left)
        };
        Some(Box::new(Status::internal(format!(
            "the gRPC stream ended {missing} short"
        ))))
    }

    /// Walks the frame boundaries in `data`; returns the announced length of
    /// the first message over the limit.
    fn scan(&mut self, mut data: &[u8]) -> Option<usize> {
        while !data.is_empty() {
            if self.payload_left > 0 {
                let n = self.payload_left.min(data.len());
                self.payload_left -= n;
                data = &data[n..];
                continue;
            }
            // Fast path: hop from whole prefix to whole prefix while both
            // the prefix and its message are in this chunk (a chunk often
            // holds hundreds of small messages).
            if self.prefix_len == 0 {
                let mut hopped = false;
                while let Some(&[_, a, b, c, d]) = data.get(..5) {
                    hopped = true;
                    let len = u32::from_be_bytes([a, b, c, d]) as usize;
                    if len > self.limit {
                        return Some(len);
                    }
                    match len.checked_add(5).and_then(|end| data.get(end..)) {
                        Some(rest) => data = rest,
                        None => {
                            // The message goes on in the next chunk.
                            self.payload_left = len - (data.len() - 5);
                            data = &[];
                        }
                    }
                }
                if hopped {
                    continue;
                }
            }
            let n = (5 - self.prefix_len).min(data.len());
            self.prefix[self.prefix_len..self.prefix_len + n].copy_from_slice(&data[..n]);
            self.prefix_len += n;
            data = &data[n..];
            if self.prefix_len == 5 {
                self.prefix_len = 0;
                let len = u32::from_be_bytes([
                    self.prefix[1],
                    self.prefix[2],
                    self.prefix[3],
                    self.prefix[4],
                ]) as usize;
                if len > self.limit {
                    return Some(len);
                }
                self.payload_left = len;
            }
        }
        None
    }
}

impl<B> Body for LimitedBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let frame = match self.inner.as_mut().poll_frame(cx) {
            Poll::Ready(Some(Ok(f))) => f.map_data(|mut d| d.copy_to_bytes(d.remaining())),
            Poll::Ready(Some(Err(e))) => {
                // tonic's `Streaming` ends a request stream *cleanly* on a
                // CANCELLED error (RST_STREAM CANCEL from the client), so a
                // handler would take a truncated stream for a complete one.
                // Report the cancel as ABORTED, which reaches the handler.
                let e: BoxError = e.into();
                if connection_lost(e.as_ref()) {
                    // A dead peer (keepalive PING unanswered, connection
                    // reset): the gRPC code for a lost transport.
                    return Poll::Ready(Some(Err(Box::new(Status::unavailable(format!(
                        "connection lost: {e}"
                    ))))));
                }
                let st = Status::from_error(e);
                if st.code() == tonic::Code::Cancelled {
                    return Poll::Ready(Some(Err(Box::new(Status::aborted(format!(
                        "the client cancelled the call: {}",
                        st.message()
                    ))))));
                }
                return Poll::Ready(Some(Err(Box::new(st))));
            }
            Poll::Ready(None) => {
                // tonic takes a body that ends right after a length prefix
                // for a whole stream (it has buffered nothing): the
                // announced message would be lost without an error.
                if let Some(e) = self.cut_short() {
                    return Poll::Ready(Some(Err(e)));
                }
                return Poll::Ready(None);
            }
            Poll::Pending => return Poll::Pending,
        };
        if frame.is_trailers() {
            // Trailers end the data: the same, and tonic would accept the
            // trailers' status for the lost message's.
            if let Some(e) = self.cut_short() {
                return Poll::Ready(Some(Err(e)));
            }
        }

        if let Some(data) = frame.data_ref() {
            if let Some(len) = self.scan(data.chunk()) {
                self.failed = true;
                let limit = self.limit;
                return Poll::Ready(Some(Err(Box::new(Status::resource_exhausted(format!(
                    "received message of {len} bytes exceeds the limit of {limit} bytes"
                ))))));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        // Not over while a cut message still has its error to give.
        self.failed || self.inner.is_end_stream() && !self.mid_message()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether a body error means the connection under the stream is gone
/// (closed, reset, broken, or its keepalive PING went unanswered), rather
/// than a stream-level reset such as a cancel.
fn connection_lost(e: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind;
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if h.is_closed() || h.is_incomplete_message() || h.is_timeout() {
                return true;
            }
        }
        // h2 reports a connection that ended under open streams as an I/O
        // error of its own, without a `source`.
        if let Some(h) = err.downcast_ref::<h2::Error>() {
            if h.is_io() || h.is_go_away() && h.reason() != Some(h2::Reason::NO_ERROR) {
                return true;
            }
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                ErrorKind::BrokenPipe
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::UnexpectedEof
                    | ErrorKind::TimedOut
            ) {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_oversized_prefix_split_across_chunks() {
        let mut b = LimitedBody::new(http_body_util::Empty::<Bytes>::new(), 10);
        // one 3-byte message, then a prefix announcing 11 bytes, split.
        assert_eq!(b.scan(&[0, 0, 0, 0, 3, 1, 2, 3, 0, 0]), None);
        assert_eq!(b.scan(&[0, 0, 11]), Some(11));
    }

    /// Reads `frames` as a request stream of `OneArg<FastStr>` through
    /// [`LimitedBody`]: the messages, then how the stream ended.
    fn read(frames: Vec<Frame<Bytes>>) -> (usize, Option<tonic::Status>) {
        use futures_util::FutureExt;
        use tonic::codec::Codec;
        type Msg = crate::OneArg<crate::FastStr, 1>;
        let frames = frames.into_iter().map(Ok::<_, std::convert::Infallible>);
        let body = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
        let decoder = crate::codec::ThriftCodec::<Msg, Msg>::default().decoder();
        let mut s = tonic::codec::Streaming::new_request(
            decoder,
            LimitedBody::new(body, 1024),
            None,
            Some(1024),
        );
        let mut n = 0;
        loop {
            match s.message().now_or_never().expect("every frame is ready") {
                Ok(Some(_)) => n += 1,
                Ok(None) => return (n, None),
                Err(e) => return (n, Some(e)),
            }
        }
    }

    // Found by `limit_fuzz`: tonic ended such a stream cleanly, losing the
    // announced message without an error.
    #[test]
    fn a_stream_cut_after_a_length_prefix_is_an_error() {
        // One message {1: "a"} (9 bytes), then a prefix announcing 9 more.
        let whole = b"\x00\x00\x00\x00\x09\x0b\x00\x01\x00\x00\x00\x01a\x00";
        let data = |b: &[u8]| Frame::data(Bytes::copy_from_slice(b));
        assert_eq!(read(vec![data(whole)]).0, 1);
        assert!(read(vec![data(whole)]).1.is_none());
        let cut = [&whole[..], &whole[..5]].concat();
        let (n, end) = read(vec![data(&cut)]);
        assert_eq!(n, 1);
        let e = end.expect("a cut stream ended cleanly");
        assert_eq!(e.code(), tonic::Code::Internal);
        assert!(e.message().contains("9 bytes of a message short"), "{e}");
        // The same, ended by trailers (how a response ends).
        let trailers = Frame::trailers(http::HeaderMap::new());
        let (n, end) = read(vec![data(&cut), trailers]);
        assert_eq!((n, end.map(|e| e.code())), (1, Some(tonic::Code::Internal)));
        // The stream the fuzzer found it with: three messages of
        // `list<string>` args, then a prefix announcing 38 bytes.
        let found = "00000000090f00010b000000000000000000250f00010b000000030000000978726769696f73\
                     7178000000046662647600000003 6b6f6b0000000000090f00010b000000000000000000 26";
        let found: Vec<u8> = crate::transport::test_data::hex(found);
        let (_, end) = read(vec![data(&found)]);
        assert_eq!(end.map(|e| e.code()), Some(tonic::Code::Internal));
        // Cut inside the prefix or the message: an error too (tonic's own).
        for at in [1, 3, 7, 13] {
            let (n, end) = read(vec![data(&whole[..at])]);
            assert_eq!(n, 0);
            assert!(end.is_some(), "cut at {at} ended cleanly");
        }
    }

    #[test]
    fn scan_accepts_messages_at_the_limit() {
        let mut b = LimitedBody::new(http_body_util::Empty::<Bytes>::new(), 4);
        assert_eq!(b.scan(&[0, 0, 0, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0, 0]), None);
    }
}
