//! Fuzzes what a server reads from gRPC request headers: metainfo
//! (`MetaInfo::from_http_headers`, `rpc-transit-*` / `rpc-persist-*`) and
//! the deadline (`parse_grpc_timeout`). TTHeader metainfo is fuzzed with
//! the frames that carry it (`frame_fuzz.rs`, `ttstream::frame_fuzz`).
//!
//! Inputs: header maps of metainfo-shaped and other names (valid, mixed
//! case, `_` and `-`, mutated) with text, non-ASCII and random values;
//! `grpc-timeout` values of 0 to 10 digits and every unit, mutated. Asserts:
//! no panic, at most 1 s and a bounded allocation per input; metainfo holds
//! exactly the well-formed keys, each with a value sent under it, and
//! survives a round trip through headers; a timeout parses if and only if
//! it is 1 to 8 digits and a unit, to that many units.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use rand::rngs::StdRng;
use rand::Rng;
use tonic_thrift::metainfo::{is_valid_key, MetaInfo};
use tonic_thrift::parse_grpc_timeout;

mod fuzz_support;
use fuzz_support::{mutate, Fuzz};

fn random_name(rng: &mut StdRng) -> Vec<u8> {
    let prefix =
        ["rpc-transit-", "rpc-persist-", "rpc-backward-", "x-", ""][rng.random_range(0..5)];
    let len = rng.random_range(0..10);
    let mut name = prefix.as_bytes().to_vec();
    name.extend((0..len).map(|_| b"abcxyz019-_AZ."[rng.random_range(0..14)]));
    if rng.random_bool(0.2) {
        let other = name.clone();
        mutate(rng, &mut name, &other);
    }
    name
}

fn random_value(rng: &mut StdRng) -> Vec<u8> {
    let len = rng.random_range(0..16);
    (0..len)
        .map(|_| match rng.random_range(0..10) {
            0 => rng.random(),
            1 => b' ',
            2 => b'\t',
            _ => rng.random_range(b'!'..=b'~'),
        })
        .collect()
}

/// The metainfo key a header name maps to, if it is a metainfo header.
fn key_of(name: &str) -> Option<(usize, String)> {
    for (i, prefix) in ["rpc-transit-", "rpc-persist-"].into_iter().enumerate() {
        if let Some(rest) = name.strip_prefix(prefix) {
            return Some((i, rest.replace('-', "_").to_ascii_uppercase()));
        }
    }
    None
}

fn check_metainfo(headers: &HeaderMap) {
    let m = MetaInfo::from_http_headers(headers);
    let mut want = 0;
    for (name, value) in headers {
        let Some((kind, key)) = key_of(name.as_str()) else {
            continue;
        };
        if !is_valid_key(&key) || value.to_str().is_err() {
            continue;
        }
        want += 1;
        let m = m.as_ref().expect("metainfo headers but no metainfo");
        let got = if kind == 0 {
            m.transient(&key)
        } else {
            m.persistent(&key)
        };
        // Names that differ only in `-` / `_` or case share a key: the
        // value is one of those sent under it.
        let got = got.unwrap_or_else(|| panic!("{name} is not in the metainfo"));
        let sent_under_key = headers.iter().any(|(n, v)| {
            key_of(n.as_str()) == Some((kind, key.clone())) && v.to_str().ok() == Some(got)
        });
        assert!(sent_under_key, "{key} = {got:?} was never sent");
    }
    match &m {
        None => assert_eq!(want, 0),
        Some(m) => {
            assert!(
                m.backwards().next().is_none(),
                "backward metainfo from a request"
            );
            let mut again = HeaderMap::new();
            m.to_http_headers(&mut again);
            let back = MetaInfo::from_http_headers(&again).expect("round trip lost everything");
            let all = |m: &MetaInfo| {
                let mut v: Vec<(String, String)> = m
                    .transients()
                    .map(|(k, v)| (format!("t{k}"), v.to_owned()))
                    .chain(
                        m.persistents()
                            .map(|(k, v)| (format!("p{k}"), v.to_owned())),
                    )
                    .collect();
                v.sort();
                v
            };
            assert_eq!(all(m), all(&back), "metainfo changed through headers");
        }
    }
}

fn random_timeout(rng: &mut StdRng) -> String {
    let digits = rng.random_range(0..=10);
    let mut s: String = (0..digits)
        .map(|_| char::from(rng.random_range(b'0'..=b'9')))
        .collect();
    s.push(['H', 'M', 'S', 'm', 'u', 'n', 'x', 'é', ' '][rng.random_range(0..9)]);
    if rng.random_bool(0.3) {
        let mut b = s.into_bytes();
        let other = b.clone();
        mutate(rng, &mut b, &other);
        return String::from_utf8_lossy(&b).into_owned();
    }
    s
}

/// What `parse_grpc_timeout` must give: 1 to 8 ASCII digits and a unit.
fn model_timeout(s: &str) -> Option<Duration> {
    let unit = s.chars().last()?;
    let digits = &s[..s.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(n * 3600),
        'M' => Duration::from_secs(n * 60),
        'S' => Duration::from_secs(n),
        'm' => Duration::from_millis(n),
        'u' => Duration::from_micros(n),
        'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

#[test]
fn grpc_metadata_fuzz() {
    let mut fuzz = Fuzz::new("grpc_metadata", 20_000, 0x6d65_7461);
    let mut rng = fuzz.rng();
    let (mut with_metainfo, mut timeouts_ok) = (0usize, 0usize);
    for _ in 0..fuzz.cases {
        let mut headers = HeaderMap::new();
        let mut raw = Vec::new();
        for _ in 0..rng.random_range(0..6) {
            let (name, value) = (random_name(&mut rng), random_value(&mut rng));
            raw.extend_from_slice(&name);
            raw.push(b':');
            raw.extend_from_slice(&value);
            raw.push(b'\n');
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(&name),
                HeaderValue::from_bytes(&value),
            ) {
                headers.append(n, v);
            }
        }
        let m = fuzz.check(&raw, Some(64 * 1024 + 64 * raw.len()), || {
            check_metainfo(&headers);
            MetaInfo::from_http_headers(&headers).is_some()
        });
        with_metainfo += usize::from(m);

        let t = random_timeout(&mut rng);
        let got = fuzz.check(t.as_bytes(), Some(4096), || parse_grpc_timeout(&t));
        if got.as_ref().ok() != model_timeout(&t).as_ref() {
            fuzz.fail(
                t.as_bytes(),
                format!("grpc-timeout {t:?} parsed to {got:?}"),
            );
        }
        timeouts_ok += usize::from(got.is_ok());
    }
    fuzz.finish();
    println!("{with_metainfo} header maps with metainfo, {timeouts_ok} timeouts parsed");
    assert!(with_metainfo > fuzz.cases / 10 && timeouts_ok > fuzz.cases / 10);
}
