//! Hostile input for the generated decoders: every input either decodes or
//! gives a decode error, and never panics, overflows or over-allocates.
//!
//! * a fixed-seed fuzz loop (> 100 000 inputs, each fed to the decoders of
//!   `AllTypes`, `Containers`, `Choice`, `Node`, `Item` and `echo::Request`):
//!   random bytes, random but well-formed Thrift structures, mutations and
//!   truncations of valid encodings;
//! * targeted cases: negative and huge lengths and sizes, wrong field types,
//!   invalid UTF-8, missing required fields, bad type bytes;
//! * allocation bounds (the counting global allocator of `fuzz_support`)
//!   for lying headers;
//! * deep nesting, in a child process so that a stack overflow is reported
//!   as a failure instead of killing the test binary.

tonic_thrift::thrift_service!("idl/echo.thrift");
tonic_thrift::thrift_service!("idl/kitchen_sink.thrift");

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Command;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use kitchen_sink::{AllTypes, Choice, Containers, Node};
use rand::rngs::StdRng;
use rand::{Rng, RngCore};
use shared::{Color, Item};
use tonic_thrift::codec::{BinaryInput, BinaryOutput};
use tonic_thrift::{Message, OrderedFloat};

pub(super) use super::fuzz_support::peak_alloc;
use super::fuzz_support::Fuzz;

// ---------------------------------------------------------------------------
// Helpers

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn encode<M: Message>(m: &M) -> Vec<u8> {
    let mut buf = BytesMut::new();
    m.encode(&mut BinaryOutput::new(&mut buf)).unwrap();
    buf.to_vec()
}

fn decode<M: Message>(data: &[u8]) -> Result<M, String> {
    let mut bytes = Bytes::copy_from_slice(data);
    M::decode(&mut BinaryInput::new(&mut bytes)).map_err(|e| e.to_string())
}

/// The decode error for `data` as `M`; panics if it decodes.
#[track_caller]
fn decode_err<M: Message + Debug>(data: &[u8]) -> String {
    match decode::<M>(data) {
        Ok(v) => panic!(
            "{} decoded {} to {v:?}, expected an error",
            std::any::type_name::<M>(),
            to_hex(data)
        ),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_mentions(err: &str, needles: &[&str]) {
    let lower = err.to_lowercase();
    for n in needles {
        assert!(
            lower.contains(&n.to_lowercase()),
            "error {err:?} does not mention {n:?}"
        );
    }
}

fn s(v: &str) -> tonic_thrift::FastStr {
    tonic_thrift::FastStr::new(v)
}

// ---------------------------------------------------------------------------
// Decoders under test

/// What a decoder did with one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Decoded,
    Error,
}

struct Target {
    name: &'static str,
    /// Decodes; on success re-encodes and checks `size()` and that the
    /// re-encoding decodes again.
    run: fn(&[u8]) -> Result<Outcome, String>,
}

fn run_one<M: Message>(data: &[u8]) -> Result<Outcome, String> {
    let Ok(value) = decode::<M>(data) else {
        return Ok(Outcome::Error);
    };
    let mut buf = BytesMut::new();
    value
        .encode(&mut BinaryOutput::new(&mut buf))
        .map_err(|e| format!("decoded, but re-encoding failed: {e}"))?;
    let size = value.size(&mut BinaryOutput::new(&mut BytesMut::new()));
    if size != buf.len() {
        return Err(format!(
            "decoded, but size() is {size} and the re-encoding {} bytes",
            buf.len()
        ));
    }
    decode::<M>(&buf).map_err(|e| format!("decoded, but its re-encoding does not: {e}"))?;
    Ok(Outcome::Decoded)
}

const TARGETS: &[Target] = &[
    Target {
        name: "AllTypes",
        run: run_one::<AllTypes>,
    },
    Target {
        name: "Containers",
        run: run_one::<Containers>,
    },
    Target {
        name: "Choice",
        run: run_one::<Choice>,
    },
    Target {
        name: "Node",
        run: run_one::<Node>,
    },
    Target {
        name: "Item",
        run: run_one::<Item>,
    },
    Target {
        name: "echo::Request",
        run: run_one::<echo::Request>,
    },
];

/// Feeds one input to every decoder; records panics and inconsistencies.
fn feed(data: &[u8], stats: &mut Stats) {
    stats.inputs += 1;
    for t in TARGETS {
        match catch_unwind(AssertUnwindSafe(|| (t.run)(data))) {
            Ok(Ok(Outcome::Decoded)) => stats.decoded += 1,
            Ok(Ok(Outcome::Error)) => stats.errors += 1,
            Ok(Err(problem)) => stats.fail(format!("{}: {problem}: {}", t.name, to_hex(data))),
            Err(_) => stats.fail(format!("{}: PANIC on {}", t.name, to_hex(data))),
        }
    }
}

#[derive(Default)]
struct Stats {
    inputs: usize,
    decoded: usize,
    errors: usize,
    failures: Vec<String>,
}

impl Stats {
    fn fail(&mut self, msg: String) {
        if self.failures.len() < 20 {
            self.failures.push(msg);
        }
    }
}

// ---------------------------------------------------------------------------
// Valid values: the seeds of the mutations

pub(super) fn all_types_full() -> AllTypes {
    AllTypes {
        b: true,
        by: -1,
        small: 2,
        short_: -3,
        int32: 4,
        int64: -5,
        dbl: 6.5,
        str: s("seven \u{2713}"),
        bin: Bytes::from_static(b"\x00\x08\xff"),
        maybe: Some(s("nine")),
        negative_id: Some(-10),
        count: Some(11),
        ratio: f64::NAN,
    }
}

pub(super) fn containers_full() -> Containers {
    Containers {
        ints: vec![1, -2, 3],
        names: ["a", "bc", ""].into_iter().map(s).collect(),
        deep: HashMap::from([(
            s("k"),
            vec![HashMap::from([
                (1, HashSet::from([2, 3])),
                (4, HashSet::new()),
            ])],
        )]),
        nested_lists: vec![vec![vec![s("x")], vec![]], vec![]],
        by_color: HashMap::from([
            (Color::Blue, Item::default()),
            (
                Color::Unknown(77),
                Item {
                    id: 8,
                    label: Some(s("l")),
                    color: Color::Negative,
                },
            ),
        ]),
        doubles: HashSet::from([OrderedFloat(0.5), OrderedFloat(-1.0)]),
        flags: HashMap::from([(Bytes::from_static(b"f"), true)]),
        items: Some(vec![Item::default()]),
        all: vec![AllTypes::default(), all_types_full()],
    }
}

pub(super) fn node_tree() -> Node {
    Node {
        value: 1,
        next: Some(Box::new(Node {
            value: 2,
            next: None,
            children: vec![Node::default()],
        })),
        children: vec![
            Node::default(),
            Node {
                value: -3,
                ..Default::default()
            },
        ],
    }
}

pub(super) fn choices() -> Vec<Choice> {
    vec![
        Choice::Number(-1),
        Choice::Text(s("t")),
        Choice::Item(Item {
            id: 5,
            label: None,
            color: Color::Red,
        }),
        Choice::Many(vec![
            Choice::Number(1),
            Choice::Many(vec![Choice::Text(s("deep"))]),
        ]),
    ]
}

/// Valid encodings, each with the index in [`TARGETS`] of its type; each
/// is checked to decode back to its value.
fn corpus() -> Vec<(usize, Vec<u8>)> {
    fn check<M: Message + PartialEq + Debug>(
        target: usize,
        v: M,
        out: &mut Vec<(usize, Vec<u8>)>,
        nan: bool,
    ) {
        let data = encode(&v);
        let back: M = decode(&data).unwrap_or_else(|e| {
            panic!(
                "valid encoding of {v:?} does not decode: {e}\n{}",
                to_hex(&data)
            )
        });
        if !nan {
            assert_eq!(back, v, "round trip of a valid value");
        }
        assert_eq!(
            (TARGETS[target].run)(&data),
            Ok(Outcome::Decoded),
            "{} does not accept a valid {v:?}",
            TARGETS[target].name
        );
        out.push((target, data));
    }
    let mut out = Vec::new();
    check(0, AllTypes::default(), &mut out, false);
    check(0, all_types_full(), &mut out, true);
    check(1, Containers::default(), &mut out, false);
    check(1, containers_full(), &mut out, true);
    for c in choices() {
        check(2, c, &mut out, false);
    }
    check(3, Node::default(), &mut out, false);
    check(3, node_tree(), &mut out, false);
    check(4, Item::default(), &mut out, false);
    check(
        4,
        Item {
            id: -1,
            label: Some(s("label")),
            color: Color::Unknown(-9),
        },
        &mut out,
        false,
    );
    check(
        5,
        echo::Request {
            message: s("hello"),
        },
        &mut out,
        false,
    );
    out
}

#[test]
fn valid_encodings_decode() {
    // Also asserted inside corpus(); here so that a regression shows up by
    // name, and to prove the fuzz loop's seeds are meaningful.
    let corpus = corpus();
    assert!(corpus.len() >= 10);
    assert_eq!(
        decode::<echo::Request>(&hex("0b 0001 00000001 61 00")).unwrap(),
        echo::Request { message: s("a") }
    );
}

// ---------------------------------------------------------------------------
// Input generators

const INTERESTING_BYTES: &[u8] = &[
    0x00, 0x01, 0x02, 0x03, 0x04, 0x06, 0x08, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x7f,
    0x80, 0xfe, 0xff,
];

const INTERESTING_I32: &[i32] = &[
    -1,
    0,
    1,
    2,
    i32::MAX,
    i32::MIN,
    0x4000_0000,
    0x0000_ffff,
    0x0001_0000,
    255,
    -2,
];

fn mutate(rng: &mut StdRng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    let rounds = rng.random_range(1..=4);
    for _ in 0..rounds {
        let len = v.len();
        match rng.random_range(0..9) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                v[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                v[i] = rng.random();
            }
            2 if len > 0 => {
                let i = rng.random_range(0..len);
                v[i] = INTERESTING_BYTES[rng.random_range(0..INTERESTING_BYTES.len())];
            }
            3 if len >= 4 => {
                let i = rng.random_range(0..=len - 4);
                let x = INTERESTING_I32[rng.random_range(0..INTERESTING_I32.len())];
                v[i..i + 4].copy_from_slice(&x.to_be_bytes());
            }
            4 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len.min(a + 16));
                v.drain(a..b);
            }
            5 => {
                let at = rng.random_range(0..=len);
                let n = rng.random_range(1..=8);
                let mut extra = vec![0u8; n];
                rng.fill_bytes(&mut extra);
                v.splice(at..at, extra);
            }
            6 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len.min(a + 32));
                let chunk = v[a..b].to_vec();
                let at = rng.random_range(0..=len);
                v.splice(at..at, chunk);
            }
            7 => {
                let at = rng.random_range(0..=len);
                v.truncate(at);
            }
            _ => {
                // Overwrite a field-header-shaped triple: type byte + id.
                if len >= 3 {
                    let i = rng.random_range(0..=len - 3);
                    v[i] = INTERESTING_BYTES[rng.random_range(0..INTERESTING_BYTES.len())];
                    let id: i16 = [1, 2, 3, 4, 5, 9, 10, -1, 100, 101, 0][rng.random_range(0..11)];
                    v[i + 1..i + 3].copy_from_slice(&id.to_be_bytes());
                }
            }
        }
    }
    v
}

/// A random but well-formed Thrift struct body whose field ids collide with
/// the kitchen-sink ids and whose types are random: exercises wrong-type
/// skipping, unknown fields and nested containers.
fn random_struct(rng: &mut StdRng, out: &mut Vec<u8>, depth: u32) {
    let fields = rng.random_range(0..6);
    for _ in 0..fields {
        let ty = random_type(rng, depth);
        let id: i16 = if rng.random_bool(0.8) {
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -1, 100, 101][rng.random_range(0..13)]
        } else {
            rng.random()
        };
        out.push(ty);
        out.extend_from_slice(&id.to_be_bytes());
        random_value(rng, out, ty, depth);
    }
    out.push(0);
}

fn random_type(rng: &mut StdRng, depth: u32) -> u8 {
    let scalar = [2u8, 3, 4, 6, 8, 10, 11];
    if depth >= 3 || rng.random_bool(0.6) {
        scalar[rng.random_range(0..scalar.len())]
    } else {
        [12u8, 13, 14, 15][rng.random_range(0..4)]
    }
}

fn random_value(rng: &mut StdRng, out: &mut Vec<u8>, ty: u8, depth: u32) {
    match ty {
        2 | 3 => out.push(rng.random_range(0..3)),
        4 | 10 => out.extend_from_slice(&rng.random::<u64>().to_be_bytes()),
        6 => out.extend_from_slice(&rng.random::<u16>().to_be_bytes()),
        8 => out.extend_from_slice(&rng.random_range(-8i32..8).to_be_bytes()),
        11 => {
            let n = rng.random_range(0..5usize);
            out.extend_from_slice(&(n as i32).to_be_bytes());
            for _ in 0..n {
                // mostly ASCII, sometimes a byte that breaks UTF-8
                out.push(if rng.random_bool(0.9) {
                    rng.random_range(b'a'..=b'z')
                } else {
                    rng.random()
                });
            }
        }
        12 => random_struct(rng, out, depth + 1),
        13 => {
            let (k, v) = (random_type(rng, depth + 1), random_type(rng, depth + 1));
            let n: i32 = rng.random_range(0..3);
            out.extend_from_slice(&[k, v]);
            out.extend_from_slice(&n.to_be_bytes());
            for _ in 0..n {
                random_value(rng, out, k, depth + 1);
                random_value(rng, out, v, depth + 1);
            }
        }
        _ => {
            let e = random_type(rng, depth + 1);
            let n: i32 = rng.random_range(0..4);
            out.push(e);
            out.extend_from_slice(&n.to_be_bytes());
            for _ in 0..n {
                random_value(rng, out, e, depth + 1);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The fuzz loop

#[test]
fn fuzz_never_panics() {
    let start = Instant::now();
    let corpus = corpus();
    let mut stats = Stats::default();

    // Every strict prefix of a valid encoding: fed to every decoder, and
    // its own type must reject it (decoding is deterministic and the whole
    // encoding is needed to reach the final stop byte).
    for (target, data) in &corpus {
        for cut in 0..data.len() {
            let prefix = &data[..cut];
            feed(prefix, &mut stats);
            if (TARGETS[*target].run)(prefix) != Ok(Outcome::Error) {
                stats.fail(format!(
                    "{}: a truncated encoding did not fail: {}",
                    TARGETS[*target].name,
                    to_hex(prefix)
                ));
            }
        }
    }

    // Every byte of every valid encoding set to each interesting value.
    for (_, data) in &corpus {
        for i in 0..data.len() {
            for &b in &[0x00u8, 0x7f, 0x80, 0xff] {
                let mut v = data.clone();
                v[i] = b;
                feed(&v, &mut stats);
            }
        }
    }

    // Random bytes, random well-formed structures, random mutations: 3, 3
    // and 4 tenths of the run's count (100 000 in CI mode).
    let mut fuzz = Fuzz::new("generated_decoders", 100_000, 0x7468_7269_6674);
    let mut rng = fuzz.rng();
    let (random, structured) = (fuzz.cases * 3 / 10, fuzz.cases * 3 / 10);
    let mutated = fuzz.cases - random - structured;
    let max_alloc = |len: usize| 256 * 1024 + len * (std::mem::size_of::<AllTypes>() + 64);
    for _ in 0..random {
        let len = rng.random_range(0..48);
        let mut v = vec![0u8; len];
        rng.fill_bytes(&mut v);
        fuzz.check(&v, Some(max_alloc(v.len())), || feed(&v, &mut stats));
    }
    for _ in 0..structured {
        let mut v = Vec::new();
        random_struct(&mut rng, &mut v, 0);
        if rng.random_bool(0.3) {
            v = mutate(&mut rng, &v);
        }
        fuzz.check(&v, Some(max_alloc(v.len())), || feed(&v, &mut stats));
    }
    for _ in 0..mutated {
        let (_, base) = &corpus[rng.random_range(0..corpus.len())];
        let v = mutate(&mut rng, base);
        fuzz.check(&v, Some(max_alloc(v.len())), || feed(&v, &mut stats));
    }
    fuzz.finish();

    let elapsed = start.elapsed();
    println!(
        "{} inputs x {} decoders: {} decoded, {} errors, in {elapsed:?}",
        stats.inputs,
        TARGETS.len(),
        stats.decoded,
        stats.errors
    );
    assert!(
        stats.failures.is_empty(),
        "decoder failures (first {}):\n{}",
        stats.failures.len(),
        stats.failures.join("\n")
    );
    assert!(stats.inputs >= fuzz.cases, "only {} inputs", stats.inputs);
    // The structured generators must reach the success paths too.
    assert!(
        stats.decoded > fuzz.cases / 10,
        "only {} decodes succeeded",
        stats.decoded
    );
}

// ---------------------------------------------------------------------------
// Targeted cases

#[test]
fn negative_and_huge_string_lengths() {
    // 1: string message, length -1
    let e = decode_err::<echo::Request>(&hex("0b 0001 ffffffff 61 00"));
    assert_mentions(&e, &["negative"]);
    // length i32::MIN
    decode_err::<echo::Request>(&hex("0b 0001 80000000 61 00"));
    // length 0x7fffffff with 2 bytes left
    let e = decode_err::<echo::Request>(&hex("0b 0001 7fffffff 61 00"));
    assert_mentions(&e, &["length"]);
    // length one more than what remains
    decode_err::<echo::Request>(&hex("0b 0001 00000003 61 00"));
    // a binary field, and a string inside a container
    decode_err::<AllTypes>(&hex("02 0001 01 0b 0009 7fffffff 00"));
    decode_err::<Containers>(&hex("0e 0002 0b 00000001 7fffffff 00"));
    decode_err::<Containers>(&hex("0e 0002 0b 00000001 ffffffff 00"));
}

#[test]
fn container_headers_that_lie() {
    // list<i32> claiming 2^31-1 elements: rejected before allocating.
    let (e, peak) =
        peak_alloc(|| decode_err::<Containers>(&hex("0f 0001 08 7fffffff 00000001 00")));
    assert_mentions(&e, &["list"]);
    assert!(
        peak < 64 * 1024,
        "allocated {peak} bytes for a lying list header"
    );
    // the same for every container field and element type
    for input in [
        "0f 0001 08 ffffffff 00",                // negative list size
        "0f 0001 08 80000000 00",                // i32::MIN list size
        "0e 0002 0b 7fffffff 00000000 00",       // set<string> 2^31-1
        "0d 0003 0b 0f 7fffffff 00",             // map 2^31-1
        "0d 0003 0b 0f ffffffff 00",             // negative map size
        "0f 0004 0f 7fffffff 00",                // list<list<..>>
        "0d 0005 08 0c 7fffffff 00",             // map<Color, Item>
        "0e 0006 04 7fffffff 00",                // set<double>
        "0d 0007 0b 02 7fffffff 00",             // map<binary, bool>
        "0f 0008 0c 7fffffff 00",                // list<Item>
        "0f 0009 0c 7fffffff 00",                // list<AllTypes>
        "0f 0009 00 7fffffff 00",                // element type stop, huge
        "0f 0009 01 00000002 00",                // element type void
        "0d 0007 00 00 7fffffff 00",             // map of stops
        "0f 0001 08 00000002 00000001",          // truncated elements
        "0f 0001 0b 00000001 00000000 00",       // list<i32> with string elements
        "0d 0005 0b 0c 00000001 00000000 00 00", // map key type mismatch
    ] {
        let data = hex(input);
        let (r, peak) = peak_alloc(|| decode::<Containers>(&data));
        assert!(r.is_err(), "{input} decoded: {r:?}");
        assert!(peak < 64 * 1024, "{input}: allocated {peak} bytes");
    }
    // An unknown field whose (skipped) list claims 2^31-1 elements.
    let (r, peak) = peak_alloc(|| decode::<echo::Request>(&hex("0f 0063 08 7fffffff 00")));
    assert!(r.is_err());
    assert!(peak < 64 * 1024);
    // Choice.many claiming 2^31-1 nested unions.
    let (r, peak) = peak_alloc(|| decode::<Choice>(&hex("0f 0004 0c 7fffffff 00")));
    assert!(r.is_err());
    assert!(peak < 64 * 1024);
    // An empty container may carry any element type (some encoders write 0).
    let c: Containers = decode(&hex("0f 0001 00 00000000 0d 0007 00 00 00000000 00")).unwrap();
    assert!(c.ints.is_empty() && c.flags.is_empty());
}

#[test]
fn allocation_stays_proportional_to_the_input() {
    // A list<AllTypes> header may claim as many elements as there are bytes
    // left (an empty struct is one stop byte), so a decoder that
    // pre-allocates `size` elements reserves size_of::<AllTypes>() bytes per
    // input byte before the first element fails (AllTypes requires `b`).
    let n = 100_000usize;
    let mut data = hex("0f 0009 0c");
    data.extend_from_slice(&(n as i32).to_be_bytes());
    data.resize(data.len() + n, 0);
    let (r, peak) = peak_alloc(|| decode::<Containers>(&data));
    let e = r.unwrap_err();
    assert_mentions(&e, &["`b`"]);
    let factor = peak as f64 / data.len() as f64;
    println!(
        "list<AllTypes> of {n} empty structs ({} input bytes): peak {peak} bytes allocated, {factor:.0}x the input \
         (size_of::<AllTypes>() = {})",
        data.len(),
        std::mem::size_of::<AllTypes>()
    );
    // Bounded by the element size: at most ~size_of::<T>() per input byte.
    assert!(
        peak <= data.len() * (std::mem::size_of::<AllTypes>() + 16) + 64 * 1024,
        "allocated {peak} bytes for {} input bytes",
        data.len()
    );
}

#[test]
fn wrong_type_for_a_known_field_is_skipped() {
    // field 1 as i32 (skipped), then field 1 as the declared string
    let r: echo::Request = decode(&hex("08 0001 00000005 0b 0001 00000001 61 00")).unwrap();
    assert_eq!(r.message, "a");
    // only the wrong type: skipped, then the required field is missing
    let e = decode_err::<echo::Request>(&hex("08 0001 00000005 00"));
    assert_mentions(&e, &["message", "missing"]);
    // AllTypes.int32 (5) as a string, .str (8) as a list, .count (100) as a
    // map, .negative_id (-1) as a struct: all skipped, IDL defaults remain.
    let a: AllTypes = decode(&hex("02 0001 01
         0b 0005 00000003 616263
         0f 0008 08 00000001 00000007
         0d 0064 08 08 00000001 00000001 00000002
         0c ffff 08 0001 00000001 00
         00"))
    .unwrap();
    assert_eq!(
        a,
        AllTypes {
            b: true,
            count: None,
            ..Default::default()
        }
    );
    // A union field of the wrong type does not count as set.
    let e = decode_err::<Choice>(&hex("0b 0001 00000001 61 00"));
    assert_mentions(&e, &["Choice", "no field"]);
    // Node.next (2) as an i32 and Node.children (3) as a set: skipped.
    let n: Node = decode(&hex(
        "08 0001 00000001 08 0002 00000002 0e 0003 08 00000000 00",
    ))
    .unwrap();
    assert_eq!(
        n,
        Node {
            value: 1,
            ..Default::default()
        }
    );
}

#[test]
fn invalid_utf8_in_strings_is_an_error() {
    for bad in [
        "c3 28",
        "ff",
        "ed a0 80",
        "f8 88 80 80 80",
        "c0 af",
        "e2 82",
    ] {
        let body = hex(bad);
        let mut data = hex("0b 0001");
        data.extend_from_slice(&(body.len() as i32).to_be_bytes());
        data.extend_from_slice(&body);
        data.push(0);
        let e = decode_err::<echo::Request>(&data);
        assert_mentions(&e, &["utf-8"]);
        assert_mentions(&e, &["message"]);
    }
    // In nested positions: AllTypes.str, AllTypes.maybe, a set<string>
    // element, a map key, a list<list<list<string>>> leaf, a union variant.
    let e = decode_err::<AllTypes>(&hex("02 0001 01 0b 0008 00000001 ff 00"));
    assert_mentions(&e, &["utf-8", "str"]);
    assert_mentions(
        &decode_err::<AllTypes>(&hex("02 0001 01 0b 000a 00000001 80 00")),
        &["utf-8"],
    );
    assert_mentions(
        &decode_err::<Containers>(&hex("0e 0002 0b 00000001 00000001 ff 00")),
        &["utf-8", "names"],
    );
    assert_mentions(
        &decode_err::<Containers>(&hex("0d 0003 0b 0f 00000001 00000001 ff 0c 00000000 00")),
        &["utf-8"],
    );
    assert_mentions(
        &decode_err::<Containers>(&hex(
            "0f 0004 0f 00000001 0f 00000001 0b 00000001 00000001 fe 00",
        )),
        &["utf-8"],
    );
    assert_mentions(
        &decode_err::<Choice>(&hex("0b 0002 00000002 c3 28 00")),
        &["utf-8"],
    );
    // ... while `binary` takes any bytes.
    let a: AllTypes = decode(&hex("02 0001 01 0b 0009 00000002 c3 28 00")).unwrap();
    assert_eq!(&a.bin[..], &[0xc3, 0x28]);
}

#[test]
fn missing_required_fields_are_named() {
    let e = decode_err::<echo::Request>(&hex("00"));
    assert_mentions(&e, &["Request", "message", "missing"]);
    let e = decode_err::<AllTypes>(&hex("08 0005 00000001 00"));
    assert_mentions(&e, &["AllTypes", "`b`", "missing"]);
    let e = decode_err::<Item>(&hex("0b 0002 00000001 78 00"));
    assert_mentions(&e, &["Item", "id", "missing"]);
    // ... also when nested: Containers.items[0] lacks its id.
    let e = decode_err::<Containers>(&hex("0f 0008 0c 00000001 00 00"));
    assert_mentions(&e, &["id", "missing"]);
    // Unknown fields do not stand in for a required one.
    let e = decode_err::<echo::Request>(&hex("0b 0002 00000001 61 00"));
    assert_mentions(&e, &["message"]);
}

#[test]
fn bad_type_bytes_and_empty_input() {
    for input in [
        "",                                   // nothing at all
        "05 0001 00",                         // type 5 does not exist
        "07 0001 00",                         // nor 7
        "09 0001 00",                         // nor 9
        "11 0001 00",                         // nor 17
        "ff 0001 00",                         // nor 255
        "0b",                                 // field header cut after the type
        "0b 00",                              // ... inside the id
        "0b 0001",                            // value missing
        "0b 0001 000000",                     // length cut
        "0b 0001 00000001 61",                // stop byte missing
        "01 0001 00",                         // a void field
        "0f 0063 05 00000001 00",             // skipped list with a bad element type
        "0d 0063 0b 07 00000001 00000000 00", // skipped map with a bad value type
    ] {
        let data = hex(input);
        let r = catch_unwind(|| decode::<echo::Request>(&data));
        match r {
            Ok(Ok(v)) => panic!("{input:?} decoded to {v:?}"),
            Ok(Err(_)) => {}
            Err(_) => panic!("{input:?} panicked"),
        }
    }
}

#[test]
fn deep_skip_nesting_is_limited() {
    // An unknown field holding 10 000 nested lists: the skipper's depth
    // limit turns it into an error (no stack overflow: the skipper is
    // depth-limited).
    let depth = 10_000;
    let mut data = Vec::new();
    data.extend_from_slice(&hex("0f 0063"));
    for _ in 0..depth {
        data.extend_from_slice(&hex("0f 00000001"));
    }
    data.extend_from_slice(&hex("08 00000000"));
    data.push(0);
    let e = decode_err::<echo::Request>(&data);
    assert_mentions(&e, &["depth"]);
}

// ---------------------------------------------------------------------------
// Deep nesting of *known* fields, in a child process.

const DEEP_CHILD: &str = "DECODE_FUZZ_DEEP_CHILD";

/// Inputs of about `bytes` bytes that nest known recursive fields.
fn deep_input(which: &str, bytes: usize) -> Vec<u8> {
    let mut data = Vec::new();
    match which {
        // Node.next -> Node.next -> ...: 3 + 1 bytes a level.
        "node_next" => {
            let depth = bytes / 4;
            for _ in 0..depth {
                data.extend_from_slice(&hex("0c 0002"));
            }
            data.resize(data.len() + depth + 1, 0);
        }
        // Node.children[0].children[0]...: 8 + 1 bytes a level.
        "node_children" => {
            let depth = bytes / 9;
            for _ in 0..depth {
                data.extend_from_slice(&hex("0f 0003 0c 00000001"));
            }
            data.resize(data.len() + depth + 1, 0);
        }
        // Choice::Many([Choice::Many([...])]): 8 + 1 bytes a level.
        "choice_many" => {
            let depth = bytes / 9;
            for _ in 0..depth {
                data.extend_from_slice(&hex("0f 0004 0c 00000001"));
            }
            data.extend_from_slice(&hex("08 0001 00000000 00"));
            data.resize(data.len() + depth, 0);
        }
        other => panic!("unknown deep input {other}"),
    }
    data
}

// Generated decoders recurse once per nesting level of a struct/union
// field; `BinaryInput` bounds struct nesting (MAX_STRUCT_DEPTH), so deeply
// nested hostile input is an error, not a stack overflow that aborts the
// process. Each case runs in a child process so a regression is reported
// rather than killing the test run.
#[test]

fn deep_nesting_of_known_fields_is_an_error_not_a_crash() {
    if let Ok(which) = std::env::var(DEEP_CHILD) {
        // Child: decode and report. A stack overflow aborts this process.
        let bytes = std::env::var("DECODE_FUZZ_DEEP_BYTES")
            .ok()
            .and_then(|b| b.parse().ok())
            .unwrap_or(1 << 20);
        let data = deep_input(&which, bytes);
        let r = match which.as_str() {
            "choice_many" => decode::<Choice>(&data).map(|_| ()),
            _ => decode::<Node>(&data).map(|_| ()),
        };
        println!("{which}: {} input bytes -> {r:?}", data.len());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    // This test's name for libtest: its path in the test crate, which is
    // `module_path!()` without the crate's name.
    let test = "deep_nesting_of_known_fields_is_an_error_not_a_crash";
    let name = match module_path!().split_once("::") {
        Some((_, module)) => format!("{module}::{test}"),
        None => test.to_string(),
    };
    let mut crashed = Vec::new();
    for which in ["node_next", "node_children", "choice_many"] {
        let out = Command::new(&exe)
            .args([
                "--exact",
                &name,
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DEEP_CHILD, which)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            let why = stderr
                .lines()
                .find(|l| l.contains("overflow") || l.contains("panicked"))
                .unwrap_or("")
                .to_string();
            crashed.push(format!("{which}: child exited with {} {why}", out.status));
        } else {
            print!(
                "{}",
                stdout
                    .lines()
                    .filter(|l| l.contains("input bytes"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            println!();
        }
    }
    assert!(
        crashed.is_empty(),
        "decoding ~1 MiB of nested known fields crashed the process:\n{}",
        crashed.join("\n")
    );
}
