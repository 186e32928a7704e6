//! Fuzzes the gRPC receive path: length-prefixed message streams, cut
//! into random chunks, read through [`LimitedBody`] by tonic's `Streaming`
//! with our [`ThriftDecoder`], as a generated client reads responses.
//!
//! Inputs: streams of valid messages (Thrift Binary `list<string>` args)
//! behind 5-byte prefixes, with compressed-flag bytes of 0, 1 or anything,
//! their mutations (lengths made hostile: over the limit, `u32::MAX`, one
//! more than what follows), truncations, and random bytes; each cut into
//! chunks of 1 byte to the whole stream, so prefixes split across chunks.
//! Asserts, against a model that walks the same bytes: no panic, no poll
//! left pending (every chunk is ready), at most 1 s per stream; the
//! messages yielded are the stream's first ones, decoded as a direct
//! decode of their payloads; a stream with any fault ends in an error,
//! never a clean end (a cut stream must not pass for a whole one); a
//! length over the limit ends it with `RESOURCE_EXHAUSTED`; and the peak
//! allocation stays within the input plus the limit, whatever a prefix
//! announces.

use std::convert::Infallible;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::FutureExt;
use http_body::Frame;
use http_body_util::StreamBody;
use pilota::thrift::Message;
use rand::rngs::StdRng;
use rand::Rng;
use tonic::codec::{Codec, Streaming};
use tonic::Code;

use super::{BinaryInput, BinaryOutput, LimitedBody, ThriftCodec};
use crate::fuzz_support::{mutate, Fuzz};
use crate::{FastStr, OneArg};

/// The message type read: `struct { 1: list<string> }`.
type Msg = OneArg<Vec<FastStr>, 1>;

fn random_message(rng: &mut StdRng) -> Vec<u8> {
    let items = (0..rng.random_range(0..4))
        .map(|_| {
            let len = rng.random_range(0..12);
            let s: String = (0..len)
                .map(|_| char::from(rng.random_range(b'a'..=b'z')))
                .collect();
            FastStr::new(s)
        })
        .collect();
    let mut b = BytesMut::new();
    OneArg::<Vec<FastStr>, 1>(items)
        .encode(&mut BinaryOutput::new(&mut b))
        .unwrap();
    b.to_vec()
}

/// A stream of 0 to 5 length-prefixed messages, compressed flag mostly 0.
fn random_stream(rng: &mut StdRng) -> Vec<u8> {
    let mut s = Vec::new();
    for _ in 0..rng.random_range(0..6) {
        let m = random_message(rng);
        let flag = match rng.random_range(0..40) {
            0 => 1,
            1 => rng.random(),
            _ => 0,
        };
        s.push(flag);
        s.put_u32(u32::try_from(m.len()).unwrap_or(u32::MAX));
        s.extend_from_slice(&m);
    }
    s
}

/// The first fault in a stream, as the reader must meet it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// A prefix announces more than the limit.
    OverLimit,
    /// A compressed flag other than 0 (no encoding is negotiated).
    BadFlag,
    /// The stream ends inside a prefix or a message.
    Truncated,
    /// A whole message that is not a valid `Msg`.
    Undecodable,
}

/// The messages before the first fault, and that fault; also whether
/// [`LimitedBody`], which only reads lengths, finds one over the limit
/// anywhere (it may then fail a chunk before its earlier messages).
fn walk(stream: &[u8], limit: usize) -> (Vec<Msg>, Option<Fault>, bool) {
    let mut over_anywhere = false;
    let mut pos = 0;
    while let Some(p) = stream.get(pos..pos + 5) {
        let len = u32::from_be_bytes([p[1], p[2], p[3], p[4]]) as usize;
        if len > limit {
            over_anywhere = true;
            break;
        }
        pos += 5 + len;
    }
    let mut messages = Vec::new();
    let mut pos = 0;
    let fault = loop {
        if pos == stream.len() {
            break None;
        }
        let Some(p) = stream.get(pos..pos + 5) else {
            break Some(Fault::Truncated);
        };
        let len = u32::from_be_bytes([p[1], p[2], p[3], p[4]]) as usize;
        if len > limit {
            break Some(Fault::OverLimit);
        }
        if p[0] != 0 {
            break Some(Fault::BadFlag);
        }
        let Some(mut payload) = stream.get(pos + 5..pos + 5 + len) else {
            break Some(Fault::Truncated);
        };
        match Msg::decode(&mut BinaryInput::new(&mut payload)) {
            Ok(m) => messages.push(m),
            Err(_) => break Some(Fault::Undecodable),
        }
        pos += 5 + len;
    };
    (messages, fault, over_anywhere)
}

/// Cuts `stream` into chunks: single bytes, small or large runs.
fn chunks(rng: &mut StdRng, stream: &[u8]) -> Vec<Bytes> {
    let max = [1, 3, 7, 64, usize::MAX][rng.random_range(0..5)];
    let mut out = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let n = rng.random_range(1..=rest.len().min(max));
        out.push(Bytes::copy_from_slice(&rest[..n]));
        rest = &rest[n..];
    }
    out
}

/// What the reader did: the messages, and how it ended (`None` cleanly).
fn read(chunks: Vec<Bytes>, limit: usize) -> Result<(Vec<Msg>, Option<Code>), String> {
    let frames = chunks
        .into_iter()
        .map(|c| Ok::<_, Infallible>(Frame::data(c)));
    let body = LimitedBody::new(StreamBody::new(futures_util::stream::iter(frames)), limit);
    let decoder = ThriftCodec::<Msg, Msg>::default().decoder();
    let mut streaming = Streaming::new_request(decoder, body, None, Some(limit));
    let mut messages = Vec::new();
    // Each call yields a message or ends; a few more than the bytes allow
    // would mean a loop.
    for _ in 0..64 {
        match streaming.message().now_or_never() {
            None => return Err("the stream was left pending with every chunk ready".into()),
            Some(Ok(Some(m))) => messages.push(m),
            Some(Ok(None)) => return Ok((messages, None)),
            Some(Err(status)) => return Ok((messages, Some(status.code()))),
        }
    }
    Err("the stream yields more messages than its bytes hold".into())
}

/// Checks what the reader did with `stream` against [`walk`].
fn check(stream: &[u8], chunks: Vec<Bytes>, limit: usize) -> Result<(), String> {
    let (want, fault, over_anywhere) = walk(stream, limit);
    let (got, end) = read(chunks, limit)?;
    if got.len() > want.len() || got[..] != want[..got.len()] {
        return Err(format!(
            "yielded {} messages, the stream's first {} are {:?}, got {:?}",
            got.len(),
            want.len(),
            want,
            got
        ));
    }
    if !over_anywhere && got.len() != want.len() {
        return Err(format!("yielded {} of {} messages", got.len(), want.len()));
    }
    match (fault, end) {
        (None, None) => Ok(()),
        (None, Some(code)) => Err(format!("a valid stream failed with {code:?}")),
        (Some(f), None) => Err(format!("a stream with {f:?} ended cleanly")),
        (Some(Fault::OverLimit), Some(Code::ResourceExhausted)) => Ok(()),
        (Some(Fault::OverLimit), Some(code)) => {
            Err(format!("a length over the limit failed with {code:?}"))
        }
        (Some(_), Some(Code::ResourceExhausted)) if !over_anywhere => {
            Err("RESOURCE_EXHAUSTED with no length over the limit".into())
        }
        (Some(_), Some(_)) => Ok(()),
    }
}

#[test]
fn grpc_length_prefix_fuzz() {
    let mut fuzz = Fuzz::new("grpc_length_prefixes", 20_000, 0x6772_7063);
    let mut rng = fuzz.rng();
    let mut prev = random_stream(&mut rng);
    let mut ends = [0usize; 3];
    for case in 0..fuzz.cases {
        let limit = [0, 5, 64, 1000, 4 << 20][rng.random_range(0..5)];
        let mut stream = random_stream(&mut rng);
        match case % 4 {
            0 => {}
            1 => {
                let len = rng.random_range(0..40);
                stream = (0..len).map(|_| rng.random()).collect();
            }
            _ => mutate(&mut rng, &mut stream, &prev),
        }
        let cut = chunks(&mut rng, &stream);
        // tonic's buffer holds at most the stream; a message it reserves
        // room for is at most the limit.
        let max_alloc = 64 * 1024 + 4 * stream.len() + 2 * limit;
        let r = fuzz.check(&stream, Some(max_alloc), || check(&stream, cut, limit));
        if let Err(why) = r {
            fuzz.fail(&stream, format!("limit {limit}: {why}"));
        }
        let (_, fault, _) = walk(&stream, limit);
        ends[match fault {
            None => 0,
            Some(Fault::OverLimit) => 1,
            Some(_) => 2,
        }] += 1;
        std::mem::swap(&mut prev, &mut stream);
    }
    fuzz.finish();
    println!("clean / over the limit / other faults: {ends:?}");
    assert!(ends.iter().all(|&n| n > fuzz.cases / 20), "{ends:?}");
}
