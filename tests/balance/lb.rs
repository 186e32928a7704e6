//! Load balancers on their own, through the public `LoadBalancer` /
//! `Picker` API: distributions measured over ≥ 10 000 picks against the
//! expected shares, consistent-hash movement when instances leave or join,
//! weights of 0, missing hash keys, instances that are not eligible.

use std::collections::HashMap;

use tonic::Code;
use tonic_thrift::balance::{
    ConsistentHash, HashKey, Instance, LoadBalancer, MissingKey, PickRequest, Picker, RoundRobin,
    WeightedRandom,
};
use tonic_thrift::metainfo::MetaInfo;

fn instances(n: usize) -> Vec<Instance> {
    (0..n)
        .map(|i| Instance::new(format!("10.0.0.{}:8888", i + 1)))
        .collect()
}

/// Picks once for a request with these extensions, every instance eligible.
fn pick_with(picker: &dyn Picker, ext: &http::Extensions) -> Option<usize> {
    let headers = http::HeaderMap::new();
    let req = PickRequest::new("TestService", "Echo", &headers, ext);
    picker.pick(&req, &mut |_| true).unwrap()
}

fn pick(picker: &dyn Picker) -> Option<usize> {
    pick_with(picker, &http::Extensions::new())
}

fn with_key(key: &str) -> http::Extensions {
    let mut ext = http::Extensions::new();
    ext.insert(HashKey::new(key));
    ext
}

fn counts(picker: &dyn Picker, n: usize, picks: usize) -> Vec<usize> {
    let mut c = vec![0; n];
    for _ in 0..picks {
        c[pick(picker).expect("an instance")] += 1;
    }
    c
}

#[test]
fn round_robin_gives_equal_shares() {
    let picker = RoundRobin::new().build(&instances(3));
    // 30 000 picks: exactly 10 000 each (round robin is exact).
    assert_eq!(counts(picker.as_ref(), 3, 30_000), vec![10_000; 3]);
    // And in turn: any 3 consecutive picks cover the 3 instances.
    let turn: Vec<usize> = (0..3).map(|_| pick(picker.as_ref()).unwrap()).collect();
    let mut sorted = turn.clone();
    sorted.sort();
    assert_eq!(sorted, vec![0, 1, 2], "{turn:?}");
}

#[test]
fn round_robin_passes_over_ineligible_instances_evenly() {
    let picker = RoundRobin::new().build(&instances(3));
    let headers = http::HeaderMap::new();
    let ext = http::Extensions::new();
    let req = PickRequest::new("S", "M", &headers, &ext);
    let mut c = [0usize; 3];
    for _ in 0..10_000 {
        let i = picker.pick(&req, &mut |i| i != 1).unwrap().unwrap();
        c[i] += 1;
    }
    assert_eq!(c[1], 0);
    assert_eq!(c[0], 5_000, "{c:?}");
    assert_eq!(c[2], 5_000, "{c:?}");
    assert_eq!(picker.pick(&req, &mut |_| false).unwrap(), None);
}

#[test]
fn weighted_random_follows_weights_and_skips_weight_zero() {
    // Weights 1, 2, 3, 4, 0: shares 10 %, 20 %, 30 %, 40 %, 0 %.
    let list: Vec<Instance> = [1, 2, 3, 4, 0]
        .iter()
        .enumerate()
        .map(|(i, &w)| Instance::new(format!("10.0.0.{i}:1")).with_weight(w))
        .collect();
    let picker = WeightedRandom::new().build(&list);
    const PICKS: usize = 20_000;
    let c = counts(picker.as_ref(), 5, PICKS);
    assert_eq!(c[4], 0, "weight 0 is never picked");
    // Tolerance: ±1.5 percentage points (the standard deviation of a 40 %
    // share over 20 000 picks is 0.35 points: more than 4 σ).
    for (i, want) in [0.1, 0.2, 0.3, 0.4].iter().enumerate() {
        let got = c[i] as f64 / PICKS as f64;
        assert!(
            (got - want).abs() < 0.015,
            "instance {i}: share {got:.4}, expected {want} ({c:?})"
        );
    }
}

#[test]
fn weighted_random_redraws_among_eligible_ones_by_weight() {
    let list: Vec<Instance> = [1, 1, 2]
        .iter()
        .enumerate()
        .map(|(i, &w)| Instance::new(format!("10.0.0.{i}:1")).with_weight(w))
        .collect();
    let picker = WeightedRandom::new().build(&list);
    let headers = http::HeaderMap::new();
    let ext = http::Extensions::new();
    let req = PickRequest::new("S", "M", &headers, &ext);
    let mut c = [0usize; 3];
    const PICKS: usize = 12_000;
    for _ in 0..PICKS {
        let mut asked = Vec::new();
        let i = picker
            .pick(&req, &mut |i| {
                asked.push(i);
                i != 2
            })
            .unwrap()
            .unwrap();
        // Each instance is asked about at most once per pick.
        let mut unique = asked.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), asked.len(), "{asked:?}");
        c[i] += 1;
    }
    // Instance 2 (half the weight) is out: 0 and 1 share evenly (±2 points).
    assert_eq!(c[2], 0);
    let share = c[0] as f64 / PICKS as f64;
    assert!((share - 0.5).abs() < 0.02, "{c:?}");
}

#[test]
fn weights_of_zero_are_excluded_everywhere() {
    let list = vec![
        Instance::new("a:1").with_weight(0),
        Instance::new("b:1"),
        Instance::new("c:1").with_weight(0),
    ];
    let lbs: Vec<Box<dyn LoadBalancer>> = vec![
        Box::new(RoundRobin::new()),
        Box::new(WeightedRandom::new()),
        Box::new(ConsistentHash::new()),
    ];
    for lb in &lbs {
        let picker = lb.build(&list);
        for i in 0..1_000 {
            let ext = with_key(&format!("k{i}"));
            assert_eq!(pick_with(picker.as_ref(), &ext), Some(1), "{lb:?}");
            assert_eq!(pick(picker.as_ref()), Some(1), "{lb:?}");
        }
        let none = lb.build(&[Instance::new("a:1").with_weight(0)]);
        assert_eq!(pick(none.as_ref()), None, "{lb:?}: all weight 0");
        assert_eq!(pick_with(none.as_ref(), &with_key("k")), None, "{lb:?}");
        let empty = lb.build(&[]);
        assert_eq!(pick(empty.as_ref()), None, "{lb:?}: no instances");
    }
}

/// Where each of `keys` goes.
fn placement(lb: &ConsistentHash, list: &[Instance], keys: usize) -> Vec<String> {
    let picker = lb.build(list);
    (0..keys)
        .map(|k| {
            let i = pick_with(picker.as_ref(), &with_key(&format!("user-{k}"))).unwrap();
            list[i].addr.clone()
        })
        .collect()
}

#[test]
fn consistent_hash_is_stable_and_spreads_keys() {
    let list = instances(5);
    let lb = ConsistentHash::new();
    let a = placement(&lb, &list, 10_000);
    // Same instances, separately built ring (as in another process): same placement.
    let b = placement(&ConsistentHash::new(), &list, 10_000);
    assert_eq!(a, b);
    // Instance order does not matter either.
    let mut reversed = list.clone();
    reversed.reverse();
    assert_eq!(a, placement(&lb, &reversed, 10_000));
    // With 100 virtual nodes each instance holds 20 % ± 8 points of the keys.
    let mut share: HashMap<&str, usize> = HashMap::new();
    for addr in &a {
        *share.entry(addr).or_default() += 1;
    }
    assert_eq!(share.len(), 5);
    for (addr, n) in &share {
        let s = *n as f64 / 10_000.0;
        assert!((0.12..=0.28).contains(&s), "{addr}: {s:.3} ({share:?})");
    }
}

#[test]
fn consistent_hash_moves_about_one_nth_of_keys() {
    const KEYS: usize = 10_000;
    let lb = ConsistentHash::new();
    for n in [4usize, 5, 10] {
        let list = instances(n);
        let before = placement(&lb, &list, KEYS);
        // Remove one instance: only its keys move (to the others).
        let removed = list[n / 2].addr.clone();
        let fewer: Vec<Instance> = list.iter().filter(|i| i.addr != removed).cloned().collect();
        let after = placement(&lb, &fewer, KEYS);
        let moved = before.iter().zip(&after).filter(|(b, a)| b != a).count();
        for (b, a) in before.iter().zip(&after) {
            if b != a {
                assert_eq!(b, &removed, "a key moved off an instance that stayed");
            }
        }
        let fraction = moved as f64 / KEYS as f64;
        let expect = 1.0 / n as f64;
        assert!(
            (fraction - expect).abs() < 0.4 * expect,
            "n={n}: {fraction:.3} of keys moved, expected about {expect:.3}"
        );
        // Add one instance: only keys that now go to it move.
        let mut more = list.clone();
        more.push(Instance::new("10.0.1.1:8888"));
        let grown = placement(&lb, &more, KEYS);
        let moved: Vec<_> = before.iter().zip(&grown).filter(|(b, a)| b != a).collect();
        assert!(moved.iter().all(|(_, a)| a.as_str() == "10.0.1.1:8888"));
        let fraction = moved.len() as f64 / KEYS as f64;
        let expect = 1.0 / (n + 1) as f64;
        assert!(
            (fraction - expect).abs() < 0.4 * expect,
            "n={n}: adding moved {fraction:.3}, expected about {expect:.3}"
        );
    }
}

#[test]
fn consistent_hash_virtual_nodes_are_configurable() {
    // One point per instance spreads keys badly; 1000 spread them well.
    let list = instances(4);
    let spread = |v: usize| {
        let lb = ConsistentHash::new().virtual_nodes(v);
        let mut share: HashMap<String, usize> = HashMap::new();
        for a in placement(&lb, &list, 10_000) {
            *share.entry(a).or_default() += 1;
        }
        let max = *share.values().max().unwrap() as f64 / 10_000.0;
        let min = list
            .iter()
            .map(|i| share.get(&i.addr).copied().unwrap_or(0))
            .min()
            .unwrap() as f64
            / 10_000.0;
        max - min
    };
    assert!(spread(1000) < 0.08, "{}", spread(1000));
    assert!(spread(1000) < spread(1));
}

#[test]
fn consistent_hash_skips_an_ineligible_instance_and_comes_back() {
    let list = instances(5);
    let picker = ConsistentHash::new().build(&list);
    let headers = http::HeaderMap::new();
    for k in 0..1_000 {
        let ext = with_key(&format!("k{k}"));
        let req = PickRequest::new("S", "M", &headers, &ext);
        let home = picker.pick(&req, &mut |_| true).unwrap().unwrap();
        let mut asked = Vec::new();
        let other = picker
            .pick(&req, &mut |i| {
                asked.push(i);
                i != home
            })
            .unwrap()
            .unwrap();
        assert_ne!(other, home);
        assert_eq!(asked, vec![home, other], "the home instance is asked first");
        // The same fallback every time (the next instance on the ring).
        let again = picker.pick(&req, &mut |i| i != home).unwrap().unwrap();
        assert_eq!(again, other);
        assert_eq!(picker.pick(&req, &mut |_| true).unwrap(), Some(home));
        assert_eq!(picker.pick(&req, &mut |_| false).unwrap(), None);
    }
}

#[test]
fn missing_hash_key_falls_back_to_round_robin_or_is_rejected() {
    let list = instances(4);
    let picker = ConsistentHash::new().build(&list);
    // No key: round robin, exactly even.
    assert_eq!(counts(picker.as_ref(), 4, 10_000), vec![2_500; 4]);

    let strict = ConsistentHash::new()
        .on_missing_key(MissingKey::Reject)
        .build(&list);
    let headers = http::HeaderMap::new();
    let ext = http::Extensions::new();
    let req = PickRequest::new("TestService", "Echo", &headers, &ext);
    let err = strict.pick(&req, &mut |_| true).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("no hash key"), "{err:?}");
    assert!(err.message().contains("TestService.Echo"), "{err:?}");
    // With a key it hashes as usual.
    assert!(pick_with(strict.as_ref(), &with_key("x")).is_some());
}

#[test]
fn hash_key_from_metainfo_or_a_closure() {
    let list = instances(5);
    let by_meta = ConsistentHash::by_metainfo("USER_ID").build(&list);
    let by_ext = ConsistentHash::new().build(&list);
    let by_header = ConsistentHash::by_key(|r| {
        r.headers()
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    })
    .build(&list);
    for k in 0..500 {
        let key = format!("u{k}");
        let mut meta = MetaInfo::default();
        meta.set_transient("USER_ID", key.clone()).unwrap();
        let mut ext = http::Extensions::new();
        ext.insert(meta);
        let from_meta = pick_with(by_meta.as_ref(), &ext);
        let from_ext = pick_with(by_ext.as_ref(), &with_key(&key));
        let mut headers = http::HeaderMap::new();
        headers.insert("x-user", key.parse().unwrap());
        let empty = http::Extensions::new();
        let req = PickRequest::new("S", "M", &headers, &empty);
        let from_header = by_header.pick(&req, &mut |_| true).unwrap();
        // The same key lands on the same instance, however it is carried.
        assert_eq!(from_meta, from_ext);
        assert_eq!(from_header, from_ext);
    }
    // A persistent value works too.
    let mut meta = MetaInfo::default();
    meta.set_persistent("USER_ID", "u7").unwrap();
    let mut ext = http::Extensions::new();
    ext.insert(meta);
    assert_eq!(
        pick_with(by_meta.as_ref(), &ext),
        pick_with(by_ext.as_ref(), &with_key("u7"))
    );
}
