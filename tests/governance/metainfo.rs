//! Governance item 4: the metainfo API — transient, persistent and backward
//! values read and set on requests and responses; persistent values passed
//! on automatically when a handler calls another service through our
//! clients (gRPC and ping-pong), transient ones not; invalid keys rejected
//! when set, malformed keys from the wire dropped.

use crate::support::*;
use tonic::Request;
use tonic_thrift::metainfo::{is_valid_key, MetaInfo};
use tonic_thrift::pingpong::PingPongOptions;
use tonic_thrift::transport::{Framing, TTHeader};

const TTHEADERS: [Framing; 2] = [
    Framing::TTHeader {
        inner_framed: false,
    },
    Framing::TTHeader { inner_framed: true },
];

fn with_meta(text: &str) -> Request<echo::Request> {
    let mut r = Request::new(req(text));
    MetaInfo::attach(&mut r)
        .set_transient("TEST_KEY", "tv")
        .unwrap()
        .set_persistent("TEST_PERSIST", "pv")
        .unwrap();
    r
}

#[tokio::test]
async fn transient_and_persistent_values_reach_the_handler() {
    let server = serve_svc(TestServiceServer::new(Gov::default())).await;
    let want = "t=[TEST_KEY=tv];p=[TEST_PERSIST=pv]";
    let mut grpc = server.grpc().await;
    let got = grpc
        .echo_unary(with_meta("meta"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.message, want, "gRPC");
    for framing in TTHEADERS {
        let pp = server.pingpong(PingPongOptions::default().framing(framing));
        let got = pp
            .echo_ping_pong(with_meta("meta"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.message, want, "{framing:?}");
    }
    // Framed and Buffered have no header to carry metainfo.
    for framing in [Framing::Framed, Framing::Buffered] {
        let pp = server.pingpong(PingPongOptions::default().framing(framing));
        let got = pp
            .echo_ping_pong(with_meta("meta"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.message, "t=[];p=[]", "{framing:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn backward_values_come_back_over_ttheader() {
    let server = serve_svc(TestServiceServer::new(Gov::default())).await;
    for framing in TTHEADERS {
        let pp = server.pingpong(PingPongOptions::default().framing(framing));
        let resp = pp.echo_ping_pong(req("backward")).await.unwrap();
        assert_eq!(
            MetaInfo::of(&resp).and_then(|m| m.backward("BACK_KEY")),
            Some("bv"),
            "{framing:?}: {:?}",
            resp.extensions().get::<MetaInfo>()
        );
        assert_eq!(resp.into_inner().message, "backward");
    }
    // gRPC carries no backward values (as Kitex's HTTP/2 path); the call
    // itself is unaffected.
    let mut grpc = server.grpc().await;
    let resp = grpc.echo_unary(req("backward")).await.unwrap();
    assert_eq!(
        MetaInfo::of(&resp).and_then(|m| m.backward("BACK_KEY")),
        None
    );
    assert_eq!(resp.into_inner().message, "backward");
    server.stop().await;
}

/// Caller → A (over `to_a`) → B (A's handler uses `hop`): what B saw.
async fn through_a(a: &Running, to_a: &str, hop: &str, b: &Running) -> String {
    let text = format!("forward-{hop}:{}", b.addr);
    match to_a {
        "grpc" => a.grpc().await.echo_unary(with_meta(&text)).await,
        _ => {
            a.pingpong(PingPongOptions::default())
                .echo_ping_pong(with_meta(&text))
                .await
        }
    }
    .unwrap_or_else(|e| panic!("{to_a} -> A -> {hop} -> B: {e:?}"))
    .into_inner()
    .message
    .to_string()
}

#[tokio::test]
async fn persistent_values_pass_on_through_a_handler_and_transient_ones_do_not() {
    let b = serve_svc(TestServiceServer::new(Gov::default())).await;
    let a = serve_svc(TestServiceServer::new(Gov::default())).await;
    for to_a in ["grpc", "pp"] {
        for hop in ["grpc", "pp"] {
            let seen = through_a(&a, to_a, hop, &b).await;
            assert_eq!(
                seen, "t=[];p=[TEST_PERSIST=pv]",
                "caller -{to_a}-> A -{hop}-> B"
            );
        }
    }
    // Outside any handler, nothing is inherited.
    let seen = b
        .grpc()
        .await
        .echo_unary(req("meta"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.message, "t=[];p=[]");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_handlers_own_persistent_values_add_to_the_inherited_ones() {
    let b = serve_svc(TestServiceServer::new(Gov::default())).await;
    let a = serve_svc(TestServiceServer::new(Gov::default())).await;
    for to_a in ["grpc", "pp"] {
        for hop in ["grpc+", "pp+"] {
            let seen = through_a(&a, to_a, hop, &b).await;
            assert_eq!(
                seen, "t=[];p=[A_KEY=av,TEST_PERSIST=pv]",
                "caller -{to_a}-> A -{hop}-> B: A set its own persistent A_KEY on the outgoing request; \
                 the caller's TEST_PERSIST must still pass on"
            );
        }
    }
    a.stop().await;
    b.stop().await;
}

#[test]
fn invalid_keys_are_rejected_when_set() {
    let bad = [
        "",
        "lower",
        "Abc",
        "A-B",
        "SPACE KEY",
        "DOT.KEY",
        "ÜBER",
        "KEY\n",
    ];
    let mut m = MetaInfo::default();
    for key in bad {
        assert!(!is_valid_key(key), "{key:?}");
        for (what, res) in [
            ("transient", m.set_transient(key, "v").map(|_| ())),
            ("persistent", m.set_persistent(key, "v").map(|_| ())),
            ("backward", m.set_backward(key, "v").map(|_| ())),
        ] {
            let e = res.expect_err(&format!("{what} key {key:?} must be rejected"));
            assert!(e.to_string().contains("invalid metainfo key"), "{e}");
        }
    }
    assert!(m.is_empty(), "a rejected key must not be stored: {m:?}");
    for good in ["TEST_KEY", "K1", "A_B_2"] {
        m.set_transient(good, "v").unwrap();
        m.set_persistent(good, "v").unwrap();
        m.set_backward(good, "v").unwrap();
    }
    assert_eq!(m.transients().count(), 3);
}

#[tokio::test]
async fn malformed_keys_from_the_wire_are_dropped() {
    let server = serve_svc(TestServiceServer::new(Gov::default())).await;
    // A raw TTHeader sent by the client, bypassing the API's key check.
    let mut h = TTHeader::default();
    h.set_string("RPC_TRANSIT_bad-key", "x");
    h.set_string("RPC_TRANSIT_GOOD", "g");
    h.set_string("RPC_PERSIST_lower", "y");
    let mut r = Request::new(req("meta"));
    r.extensions_mut().insert(h);
    let pp = server.pingpong(PingPongOptions::default());
    let got = pp.echo_ping_pong(r).await.unwrap().into_inner();
    assert_eq!(got.message, "t=[GOOD=g];p=[]");
    server.stop().await;
}
