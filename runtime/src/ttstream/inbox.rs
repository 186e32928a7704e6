//! What a connection's reader hands to one stream: the DATA payloads of
//! one read, batched behind gRPC length prefixes, so that a burst of small
//! messages costs one queue hand-off and one wake-up, not one per message.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use bytes::{BufMut, Bytes, BytesMut};
use tonic::Status;

use super::frame::StreamFrame;

/// Messages up to this size are copied into their stream's batch; larger
/// ones are handed over as they are (no copy).
pub(crate) const COPY_MAX: usize = 4 * 1024;
/// The room a batch is allocated with. A batch whose room runs out is
/// handed over and the next one gets fresh room, so that no batch is ever
/// grown (a grown shared buffer is copied whole, every time).
pub(crate) const BATCH_ROOM: usize = 16 * 1024;

/// One item of a stream's receive queue.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// Whole messages, each behind its 5-byte gRPC length prefix: at most
    /// [`BATCH_ROOM`] bytes.
    Framed(Bytes),
    /// One message over [`COPY_MAX`] bytes (at most the frame limit),
    /// without its prefix.
    Message(Bytes),
    /// A frame that is not DATA (the client's queues only: TRAILER, RST).
    /// Boxed: it is rare, and unboxed it would make every item of every
    /// queue (and each move of one, per received message) five times larger.
    Control(Box<StreamFrame>),
}

/// A received DATA payload, as the reader has it.
pub(crate) enum Payload<'a> {
    /// At most [`COPY_MAX`] bytes, still in the read buffer.
    Copy(&'a [u8]),
    /// A larger payload, split off the read buffer.
    Large(Bytes),
}

/// The room a stream's first batch is allocated with; each new room is
/// twice the last, up to [`BATCH_ROOM`], so a short stream (one message)
/// does not cost a 16 KiB allocation.
const FIRST_ROOM: usize = 512;

/// The batch a stream's DATA payloads are gathered in during one read.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    buf: BytesMut,
    /// The size of the last room allocated (0 before the first).
    room: usize,
}

impl Batch {
    /// Adds a DATA payload of at most [`COPY_MAX`] bytes; returns the
    /// batch so far if it had no room left for it (to be handed over at
    /// once, before this payload).
    pub(crate) fn copy(&mut self, payload: &[u8]) -> Option<Inbound> {
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        let need = 5 + payload.len();
        let mut full = None;
        if self.buf.capacity() - self.buf.len() < need {
            // Hand over what is here and start in new room: the buffer is
            // empty, so reserving copies nothing.
            full = self.take();
            self.room = (self.room * 2).clamp(FIRST_ROOM, BATCH_ROOM);
            self.buf.reserve(need.max(self.room));
        }
        let [a, b, c, d] = len.to_be_bytes();
        self.buf.extend_from_slice(&[0, a, b, c, d]);
        self.buf.extend_from_slice(payload);
        full
    }

    /// A DATA payload too large to copy: the batch so far (to be handed
    /// over first), then the message itself.
    pub(crate) fn large(&mut self, payload: Bytes) -> (Option<Inbound>, Inbound) {
        (self.take(), Inbound::Message(payload))
    }

    /// The messages gathered so far, if any.
    pub(crate) fn take(&mut self) -> Option<Inbound> {
        (!self.buf.is_empty()).then(|| Inbound::Framed(self.buf.split().freeze()))
    }

    /// Whether no message is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Makes room for `need` more bytes in a buffer that is filled piece by
/// piece and then split off whole: at least 8 KiB at a time, and at least
/// as much as it holds, so that a buffer filled message by message is
/// copied O(1) times per byte, not once per 8 KiB.
pub(crate) fn reserve_chunk(buf: &mut BytesMut, need: usize) {
    if buf.capacity() - buf.len() < need {
        buf.reserve(need.max(buf.len()).max(8 * 1024));
    }
}

/// Turns a data item into the next request/response body chunk; a large
/// message yields its prefix first and leaves itself in `pending`.
pub(crate) fn body_chunk(item: Inbound, pending: &mut Option<Bytes>) -> Result<Bytes, Status> {
    match item {
        Inbound::Framed(bytes) => Ok(bytes),
        Inbound::Message(message) => {
            let len = u32::try_from(message.len())
                .map_err(|_| Status::resource_exhausted("message over 4 GiB"))?;
            let mut prefix = BytesMut::with_capacity(5);
            prefix.put_u8(0);
            prefix.put_u32(len);
            *pending = Some(message);
            Ok(prefix.freeze())
        }
        Inbound::Control(_) => Err(Status::internal(
            "a ttstream control frame reached a message body",
        )),
    }
}

/// A map keyed by stream id. Ids are chosen by the peer, but a lookup
/// happens per received message, so the hash is a cheap multiplicative
/// one instead of SipHash. A hostile peer choosing colliding ids can only
/// slow its own connection, whose stream count is capped.
pub(crate) type StreamMap<V> = HashMap<i32, V, BuildHasherDefault<StreamIdHasher>>;

/// Hashes one stream id (see [`StreamMap`]).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StreamIdHasher(u64);

impl Hasher for StreamIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_i32(&mut self, id: i32) {
        // Fibonacci hashing: spreads consecutive ids over the high bits.
        self.0 = u64::from(id as u32).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(item: Option<Inbound>) -> Bytes {
        match item {
            Some(Inbound::Framed(b)) => b,
            other => panic!("expected a framed batch, got {other:?}"),
        }
    }

    #[test]
    fn small_messages_share_one_prefixed_batch() {
        let mut b = Batch::default();
        assert!(b.copy(b"ab").is_none());
        assert!(b.copy(b"").is_none());
        assert_eq!(
            &framed(b.take())[..],
            &[0, 0, 0, 0, 2, b'a', b'b', 0, 0, 0, 0, 0][..]
        );
        assert!(b.take().is_none() && b.is_empty());
    }

    #[test]
    fn a_large_message_follows_the_batch_uncopied() {
        let mut b = Batch::default();
        let _ = b.copy(b"x");
        let big = Bytes::from(vec![7u8; COPY_MAX + 1]);
        let (first, second) = b.large(big.clone());
        assert_eq!(&framed(first)[..], &[0, 0, 0, 0, 1, b'x'][..]);
        match second {
            Inbound::Message(m) => assert_eq!(m.as_ptr(), big.as_ptr()),
            other => panic!("expected the message itself, got {other:?}"),
        }
        let mut pending = None;
        let prefix = body_chunk(Inbound::Message(big.clone()), &mut pending).unwrap();
        assert_eq!(&prefix[..], &[0, 0, 0, 0x10, 0x01][..]);
        assert_eq!(pending, Some(big));
    }

    #[test]
    fn a_batch_out_of_room_is_handed_over_whole_and_never_grown() {
        let mut b = Batch::default();
        let m = vec![1u8; COPY_MAX];
        let mut handed = Vec::new();
        for _ in 0..10 {
            if let Some(item) = b.copy(&m) {
                handed.push(framed(Some(item)));
            }
        }
        handed.extend(b.take().map(|i| framed(Some(i))));
        // Every message arrives, in batches that fit their room.
        let total: usize = handed.iter().map(Bytes::len).sum();
        assert_eq!(total, 10 * (5 + COPY_MAX));
        assert!(handed.len() > 1, "{} batches", handed.len());
        assert!(handed.iter().all(|h| h.len() <= BATCH_ROOM), "a batch grew");
    }
}
