//! `--decode-micro`: the cost of decoding one echo message, ours against
//! prost, in one thread with the bytes in cache: what the codec itself
//! costs, apart from tonic, HTTP/2 and the scheduler. And the cost of
//! handing a decoded message up one layer of `poll_next`, as tonic's
//! `Streaming` and every stream adapter above it do.

use std::hint::black_box;
use std::task::Poll;
use std::time::Instant;

use tonic::Status;

use crate::common::BenchResult;
use crate::ours::gen::echo;
use crate::pb;

/// Decodes per timed round.
const ROUNDS: u32 = 5_000_000;

/// Decodes a Thrift Binary `Response` from `wire`; kept out of line so the
/// loop cannot fold the decode away.
#[inline(never)]
fn decode_thrift(wire: &[u8]) -> BenchResult<usize> {
    use tonic_thrift::Message as _;
    let mut input = wire;
    let m = echo::Response::decode(&mut tonic_thrift::codec::BinaryInput::new(&mut input))
        .map_err(|e| e.to_string())?;
    Ok(black_box(m).message.len())
}

/// Decodes the protobuf `Response` from `wire`.
#[inline(never)]
fn decode_prost(wire: &[u8]) -> BenchResult<usize> {
    use prost::Message as _;
    let m = pb::EchoResponse::decode(wire).map_err(|e| e.to_string())?;
    Ok(black_box(m).message.len())
}

/// Nanoseconds per call of `decode` over `wire`, best of three rounds.
fn time(wire: &[u8], decode: fn(&[u8]) -> BenchResult<usize>) -> BenchResult<f64> {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let mut total = 0usize;
        for _ in 0..ROUNDS {
            total += decode(black_box(wire))?;
        }
        black_box(total);
        best = best.min(start.elapsed().as_nanos() as f64 / f64::from(ROUNDS));
    }
    Ok(best)
}

/// What a message stream's `poll_next` returns.
type Item<T> = Poll<Option<Result<T, Status>>>;

/// One layer of `poll_next`: takes the item and returns it, out of line.
#[inline(never)]
fn layer<T>(item: Item<T>) -> Item<T> {
    black_box(item)
}

/// Nanoseconds to build an item with `make` and pass it up `layers` layers.
fn time_moves<T>(make: fn() -> Item<T>, layers: usize) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        for _ in 0..ROUNDS {
            let mut item = make();
            for _ in 0..layers {
                item = layer(item);
            }
            black_box(&item);
        }
        best = best.min(start.elapsed().as_nanos() as f64 / f64::from(ROUNDS));
    }
    best
}

/// A 16 B `Response` as our decoder builds it (an inline `FastStr`).
#[inline(never)]
fn make_thrift() -> Item<echo::Response> {
    let text = black_box("0123456789abcdef");
    Poll::Ready(Some(Ok(echo::Response {
        message: tonic_thrift::FastStr::new(text),
    })))
}

/// A 16 B `Response` as prost's decoder builds it (a `String`).
#[inline(never)]
fn make_prost() -> Item<pb::EchoResponse> {
    let text = black_box("0123456789abcdef");
    Poll::Ready(Some(Ok(pb::EchoResponse {
        message: text.to_owned(),
    })))
}

/// Prints ns per decode of a `size`-byte echo message for both codecs.
pub(crate) fn run(sizes: &[usize]) -> BenchResult<()> {
    use prost::Message as _;
    use tonic_thrift::Message as _;
    for &size in sizes {
        let text = crate::common::payload(size);
        let mut thrift = bytes::BytesMut::new();
        echo::Response {
            message: text.clone().into(),
        }
        .encode(&mut tonic_thrift::codec::BinaryOutput::new(&mut thrift))
        .map_err(|e| e.to_string())?;
        let proto = pb::EchoResponse { message: text }.encode_to_vec();
        let ours = time(&thrift, decode_thrift)?;
        let prost = time(&proto, decode_prost)?;
        println!(
            "decode {size} B: tonic-thrift {ours:.1} ns, prost {prost:.1} ns, ratio {:.2}x (time, lower is better)",
            ours / prost
        );
    }
    for layers in [0, 8] {
        let ours = time_moves(make_thrift, layers);
        let prost = time_moves(make_prost, layers);
        println!(
            "16 B message built and passed up {layers} poll_next layers: tonic-thrift {ours:.1} ns, prost {prost:.1} ns"
        );
    }
    Ok(())
}
