//! The ping-pong client over TLS (`PingPongOptions::tls`) against our TLS
//! server: every framing, mTLS with and without a client certificate, a
//! server from an unknown CA or for another name, and the balanced client.

use std::time::Duration;

use tonic::Code;
use tonic_thrift::balance::BalanceOptions;
use tonic_thrift::pingpong::PingPongOptions;
use tonic_thrift::tls::ClientTlsConfig;
use tonic_thrift::transport::Framing;

use crate::certs::pki;
use crate::echo;
use crate::echo::test_service_client::TestServicePingPongClient;
use crate::echo::test_service_server::TestServiceServer;
use crate::support::{hex, serve, Echo};
use crate::tls::{client_tls, tls_server};

fn options(tls: ClientTlsConfig) -> PingPongOptions {
    PingPongOptions::default()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .tls(tls)
}

async fn echo(client: &TestServicePingPongClient, text: &str) -> Result<String, tonic::Status> {
    let reply = client
        .echo_ping_pong(echo::Request {
            message: text.to_string().into(),
        })
        .await?;
    Ok(reply.into_inner().message.to_string())
}

#[tokio::test]
async fn ping_pong_client_calls_over_tls_in_every_framing() {
    let pki = pki("ping-pong framings");
    let server = serve(tls_server(&pki, false).add_service(TestServiceServer::new(Echo))).await;
    let framings = [
        Framing::TTHeader {
            inner_framed: false,
        },
        Framing::TTHeader { inner_framed: true },
        Framing::Framed,
        Framing::Buffered,
    ];
    for framing in framings {
        // By IP address (the certificate names 127.0.0.1) and by host name.
        for addr in [
            server.addr.to_string(),
            format!("localhost:{}", server.addr.port()),
        ] {
            let client = TestServicePingPongClient::with_options(
                addr.clone(),
                options(client_tls(&pki, false)).framing(framing),
            );
            for i in 0..3 {
                let text = format!("{framing:?} {i}");
                let reply = echo(&client, &text)
                    .await
                    .unwrap_or_else(|s| panic!("{framing:?} to {addr}: {s:?}"));
                assert_eq!(reply, format!("{text}|none"));
            }
            assert_eq!(
                client.idle_connections(),
                1,
                "{framing:?}: one TLS connection, reused"
            );
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn ping_pong_client_presents_its_certificate_to_an_mtls_server() {
    let pki = pki("ping-pong mtls");
    let other = pki_other();
    let server = serve(tls_server(&pki, true).add_service(TestServiceServer::new(Echo))).await;
    let addr = server.addr.to_string();

    // With a client certificate: the handler sees it.
    for framing in [
        Framing::TTHeader {
            inner_framed: false,
        },
        Framing::Framed,
    ] {
        let client = TestServicePingPongClient::with_options(
            addr.clone(),
            options(client_tls(&pki, true)).framing(framing),
        );
        let reply = echo(&client, "who").await.expect("call over mTLS");
        assert_eq!(
            reply,
            format!("who|{}", hex(&pki.client.der)),
            "{framing:?}"
        );
    }

    // Without one: the call fails saying the server requires it.
    let client =
        TestServicePingPongClient::with_options(addr.clone(), options(client_tls(&pki, false)));
    let status = echo(&client, "x").await.expect_err("no client certificate");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("requires a client certificate"),
        "says the certificate is missing: {}",
        status.message()
    );

    // A certificate from a CA the server does not trust.
    let stranger = ClientTlsConfig::new()
        .ca_certificate(&pki.ca)
        .unwrap()
        .identity(&other.client.cert, &other.client.key)
        .unwrap();
    let client = TestServicePingPongClient::with_options(addr, options(stranger));
    let status = echo(&client, "x").await.expect_err("untrusted client CA");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status
            .message()
            .contains("does not trust the CA of our client certificate"),
        "says the server does not know the client's CA: {}",
        status.message()
    );
    server.stop().await;
}

fn pki_other() -> crate::certs::Pki {
    pki("someone else's")
}

#[tokio::test]
async fn ping_pong_client_refuses_a_server_from_an_unknown_ca_or_for_another_name() {
    let pki = pki("ping-pong server");
    let server = serve(tls_server(&pki, false).add_service(TestServiceServer::new(Echo))).await;
    let addr = server.addr.to_string();

    let client = TestServicePingPongClient::with_options(
        addr.clone(),
        options(client_tls(&pki_other(), false)),
    );
    let status = echo(&client, "x").await.expect_err("unknown CA");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let text = status.message();
    assert!(
        text.contains("TLS handshake") && text.contains("unknown CA") && text.contains(&addr),
        "names the handshake, the unknown CA and the address: {text}"
    );
    assert_eq!(client.idle_connections(), 0);

    let elsewhere = client_tls(&pki, false).domain_name("elsewhere.example");
    let client = TestServicePingPongClient::with_options(addr, options(elsewhere));
    let status = echo(&client, "x").await.expect_err("name mismatch");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("name mismatch"),
        "says the name does not match: {}",
        status.message()
    );
    server.stop().await;
}

#[tokio::test]
async fn plaintext_ping_pong_client_on_a_tls_port_fails() {
    let pki = pki("ping-pong plaintext");
    let server = serve(tls_server(&pki, false).add_service(TestServiceServer::new(Echo))).await;
    // Each framing's first call is answered with why, then the connection
    // closes.
    for framing in [
        Framing::TTHeader {
            inner_framed: false,
        },
        Framing::Framed,
        Framing::Buffered,
    ] {
        let client = TestServicePingPongClient::with_options(
            server.addr.to_string(),
            PingPongOptions::default()
                .framing(framing)
                .timeout(Duration::from_secs(5)),
        );
        let status = echo(&client, "x").await.expect_err("plaintext refused");
        assert!(
            status.message().contains("this port requires TLS"),
            "{framing:?}: {status:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn balanced_ping_pong_client_speaks_tls_to_every_instance() {
    let pki = pki("ping-pong balanced");
    let a = serve(tls_server(&pki, true).add_service(TestServiceServer::new(Echo))).await;
    let b = serve(tls_server(&pki, true).add_service(TestServiceServer::new(Echo))).await;
    let client = TestServicePingPongClient::with_balancer(
        BalanceOptions::from_addrs([a.addr.to_string(), b.addr.to_string()]),
        options(client_tls(&pki, true)),
    );
    for i in 0..10 {
        let reply = echo(&client, &format!("{i}")).await.expect("balanced call");
        assert_eq!(reply, format!("{i}|{}", hex(&pki.client.der)));
    }
    assert_eq!(
        client.idle_connections(),
        2,
        "a TLS connection to each instance"
    );
    a.stop().await;
    b.stop().await;
}
