//! TLS and mTLS end to end: gRPC and ping-pong over TLS on one port, the
//! client's verified certificate seen by middleware and handlers, the
//! errors of each failure, and tonic's own TLS server hosting our service.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tonic_thrift::call::Call;
use tonic_thrift::grpc::{GrpcOptions, StreamTransport};
use tonic_thrift::tls::{ClientTlsConfig, PeerCertificates, ServerTlsConfig};

use crate::certs::{pki, Pki};
use crate::echo;
use crate::echo::test_service_client::TestServiceClient;
use crate::echo::test_service_server::TestServiceServer;
use crate::support::{hex, serve, Echo};

/// The error and all its sources, one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

pub fn tls_server(pki: &Pki, mtls: bool) -> tonic_thrift::Server {
    let mut config = ServerTlsConfig::new(&pki.server.cert, &pki.server.key).expect("server TLS");
    if mtls {
        config = config.client_ca(&pki.ca).expect("client CA");
    }
    tonic_thrift::Server::builder()
        .tls_config(config)
        .expect("TLS config")
}

pub fn client_tls(pki: &Pki, with_cert: bool) -> ClientTlsConfig {
    let config = ClientTlsConfig::new().ca_certificate(&pki.ca).expect("CA");
    if with_cert {
        config
            .identity(&pki.client.cert, &pki.client.key)
            .expect("client identity")
    } else {
        config
    }
}

async fn tls_client(
    port: u16,
    config: ClientTlsConfig,
) -> Result<TestServiceClient<tonic::transport::Channel>, tonic::transport::Error> {
    let options = GrpcOptions::default()
        .connect_timeout(Duration::from_secs(5))
        .tls(config);
    TestServiceClient::connect_with(format!("https://127.0.0.1:{port}"), options).await
}

async fn unary(
    client: &mut TestServiceClient<tonic::transport::Channel>,
    text: &str,
) -> Result<String, tonic::Status> {
    let reply = client
        .echo_unary(echo::Request {
            message: text.to_string().into(),
        })
        .await?;
    Ok(reply.into_inner().message.to_string())
}

/// A Framed ping-pong call of `EchoPingPong("hi")`, hand-encoded (strict
/// Thrift Binary), with sequence id 7.
pub fn framed_ping_pong_call() -> Vec<u8> {
    let mut msg = Vec::new();
    msg.extend_from_slice(&0x8001_0001u32.to_be_bytes());
    msg.extend_from_slice(&12i32.to_be_bytes());
    msg.extend_from_slice(b"EchoPingPong");
    msg.extend_from_slice(&7i32.to_be_bytes());
    // Args { 1: Request { 1: "hi" } }
    msg.extend_from_slice(&[0x0c, 0x00, 0x01, 0x0b, 0x00, 0x01]);
    msg.extend_from_slice(&2i32.to_be_bytes());
    msg.extend_from_slice(b"hi");
    msg.extend_from_slice(&[0x00, 0x00]);
    let mut frame = (msg.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&msg);
    frame
}

/// A rustls client config trusting `pki`'s CA, with no ALPN (as Thrift
/// clients) unless `alpn` is given.
fn raw_client_config(pki: &Pki, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    raw_client_config_with(pki, alpn, false)
}

/// Like `raw_client_config`, presenting the client certificate when
/// `with_cert`.
fn raw_client_config_with(pki: &Pki, alpn: &[&[u8]], with_cert: bool) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pki.ca.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let mut config = if with_cert {
        let chain = CertificateDer::pem_slice_iter(pki.client.cert.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("client PEM");
        let key = PrivateKeyDer::from_pem_slice(pki.client.key.as_bytes()).expect("client key");
        config
            .with_client_auth_cert(chain, key)
            .expect("client auth")
    } else {
        config.with_no_client_auth()
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// Sends one Framed ping-pong call over TLS and returns the reply frame.
async fn ping_pong_over_tls(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<Vec<u8>> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await?;
    tls.write_all(&framed_ping_pong_call()).await?;
    let mut len = [0u8; 4];
    tls.read_exact(&mut len).await?;
    let mut reply = vec![0u8; u32::from_be_bytes(len) as usize];
    tls.read_exact(&mut reply).await?;
    Ok(reply)
}

#[tokio::test]
async fn grpc_and_ping_pong_share_one_tls_port() {
    let pki = pki("shared port");
    let server = serve(tls_server(&pki, false).add_service(TestServiceServer::new(Echo))).await;

    // gRPC over TLS: unary, and a bidirectional stream.
    let mut client = tls_client(server.addr.port(), client_tls(&pki, false))
        .await
        .expect("TLS connect");
    assert_eq!(unary(&mut client, "hi").await.expect("unary"), "hi|none");
    let requests = tokio_stream::iter(["a", "b", "c"].map(|m| echo::Request { message: m.into() }));
    let replies: Vec<String> = client
        .echo(requests)
        .await
        .expect("bidi")
        .into_inner()
        .map(|r| r.expect("reply").message.to_string())
        .collect()
        .await;
    assert_eq!(replies, ["a", "b", "c"]);

    // Ping-pong (Framed) over TLS on the same port, without ALPN.
    let reply = tokio::time::timeout(
        Duration::from_secs(10),
        ping_pong_over_tls(server.addr, raw_client_config(&pki, &[])),
    )
    .await
    .expect("ping-pong reply in time")
    .expect("ping-pong over TLS");
    assert_eq!(
        &reply[..4],
        &0x8001_0002u32.to_be_bytes(),
        "a REPLY message"
    );
    assert!(
        reply.windows(7).any(|w| w == b"hi|none"),
        "reply carries the echo: {reply:?}"
    );
    server.stop().await;
}

/// What the middleware saw: the call's transport and the client's
/// certificate.
type Seen = (String, Vec<u8>);

#[tokio::test]
async fn mtls_client_identity_reaches_middleware_and_handler() {
    let pki = pki("mtls identity");
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let record = seen.clone();
    let layer = tower::util::MapRequestLayer::new(move |call: Call| {
        if let Some(c) = call.extensions().get::<PeerCertificates>() {
            let transport = call.info().transport.to_string();
            record
                .lock()
                .unwrap()
                .push((transport, c.end_entity().to_vec()));
        }
        call
    });
    let svc = TestServiceServer::new(Echo).layer(layer);
    let server = serve(tls_server(&pki, true).add_service(svc)).await;

    let mut client = tls_client(server.addr.port(), client_tls(&pki, true))
        .await
        .expect("mTLS connect");
    let reply = unary(&mut client, "who").await.expect("unary over mTLS");
    assert_eq!(reply, format!("who|{}", hex(&pki.client.der)));
    // Ping-pong (Framed) over mTLS: the handler sees the same certificate.
    let reply = ping_pong_over_tls(server.addr, raw_client_config_with(&pki, &[], true))
        .await
        .expect("ping-pong over mTLS");
    let want = format!("hi|{}", hex(&pki.client.der));
    assert!(
        reply.windows(want.len()).any(|w| w == want.as_bytes()),
        "the ping-pong handler sees the client certificate"
    );
    // A bidirectional stream over TTHeader Streaming over mTLS.
    let options = GrpcOptions::default()
        .tls(client_tls(&pki, true))
        .stream_transport(StreamTransport::TTHeaderStreaming);
    let mut ttstream = TestServiceClient::connect_with(
        format!("https://127.0.0.1:{}", server.addr.port()),
        options,
    )
    .await
    .expect("connect");
    let replies: Vec<String> = ttstream
        .echo(tokio_stream::iter([echo::Request {
            message: "over ttstream".into(),
        }]))
        .await
        .expect("ttstream over mTLS")
        .into_inner()
        .map(|r| r.expect("reply").message.to_string())
        .collect()
        .await;
    assert_eq!(replies, ["over ttstream"]);

    let der = pki.client.der.clone();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            ("GRPC".to_string(), der.clone()),
            ("Framed".to_string(), der.clone()),
            ("TTHeaderStreaming".to_string(), der),
        ],
        "the middleware saw the certificate on every transport"
    );
    server.stop().await;
}

#[tokio::test]
async fn mtls_refuses_clients_without_a_certificate_or_from_another_ca() {
    let pki = pki("mtls refusals");
    let other = crate::certs::pki("other");
    let server = serve(tls_server(&pki, true).add_service(TestServiceServer::new(Echo))).await;

    // No client certificate: TLS 1.3 reports it on the first read.
    let outcome = match tls_client(server.addr.port(), client_tls(&pki, false)).await {
        Err(e) => chain(&e),
        Ok(mut c) => {
            let status = unary(&mut c, "x")
                .await
                .expect_err("refused without a cert");
            chain(&status)
        }
    };
    assert!(
        outcome.contains("CertificateRequired"),
        "names the missing certificate: {outcome}"
    );

    // A certificate from a CA the server does not trust.
    let stranger = ClientTlsConfig::new()
        .ca_certificate(&pki.ca)
        .unwrap()
        .identity(&other.client.cert, &other.client.key)
        .unwrap();
    let outcome = match tls_client(server.addr.port(), stranger).await {
        Err(e) => chain(&e),
        Ok(mut c) => {
            let status = unary(&mut c, "x").await.expect_err("refused: unknown CA");
            chain(&status)
        }
    };
    assert!(
        outcome.contains("UnknownCA"),
        "names the unknown CA: {outcome}"
    );
    server.stop().await;
}

#[tokio::test]
async fn client_refuses_a_server_certificate_from_an_unknown_ca() {
    let pki = pki("server");
    let other = crate::certs::pki("client's");
    let server = serve(tls_server(&pki, false).add_service(TestServiceServer::new(Echo))).await;
    let err = tls_client(server.addr.port(), client_tls(&other, false))
        .await
        .expect_err("an unknown issuer fails the connect");
    let text = chain(&err);
    assert!(text.contains("UnknownIssuer"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn alpn_mismatch_is_refused_with_no_application_protocol() {
    let pki = pki("alpn");
    let server = serve(tls_server(&pki, false).add_service(TestServiceServer::new(Echo))).await;
    let err = ping_pong_over_tls(server.addr, raw_client_config(&pki, &[b"http/1.1"]))
        .await
        .expect_err("a client offering only http/1.1 is refused");
    let text = chain(&err);
    assert!(text.contains("NoApplicationProtocol"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn plaintext_client_on_a_tls_port_is_refused_unless_allowed() {
    let pki = pki("plaintext");
    let server = serve(tls_server(&pki, false).add_service(TestServiceServer::new(Echo))).await;
    let outcome = match TestServiceClient::connect_with(
        format!("http://{}", server.addr),
        GrpcOptions::default(),
    )
    .await
    {
        Err(e) => chain(&e),
        Ok(mut c) => chain(&unary(&mut c, "x").await.expect_err("plaintext refused")),
    };
    // The server answers a plaintext HTTP/2 client with GOAWAY and a reason.
    assert!(
        outcome.contains("INADEQUATE_SECURITY") && outcome.contains("requires TLS"),
        "says why: {outcome}"
    );
    server.stop().await;

    // With allow_plaintext, one port serves both.
    let config = ServerTlsConfig::new(&pki.server.cert, &pki.server.key)
        .unwrap()
        .allow_plaintext(true);
    let server = serve(
        tonic_thrift::Server::builder()
            .tls_config(config)
            .unwrap()
            .add_service(TestServiceServer::new(Echo)),
    )
    .await;
    let mut plain = TestServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("plaintext connect");
    assert_eq!(unary(&mut plain, "p").await.unwrap(), "p|none");
    let mut tls = tls_client(server.addr.port(), client_tls(&pki, false))
        .await
        .expect("TLS connect");
    assert_eq!(unary(&mut tls, "t").await.unwrap(), "t|none");
    server.stop().await;
}

#[tokio::test]
async fn tonic_tls_server_hosts_our_service_for_our_tls_client() {
    let pki = pki("tonic server");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let identity = tonic::transport::Identity::from_pem(&pki.server.cert, &pki.server.key);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .unwrap()
            .add_service(TestServiceServer::new(Echo))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                async {
                    let _ = stopped.await;
                },
            ),
    );
    let mut client = tls_client(addr.port(), client_tls(&pki, false))
        .await
        .expect("TLS connect to tonic's server");
    assert_eq!(unary(&mut client, "t").await.unwrap(), "t|none");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[test]
fn bad_pem_and_mismatched_key_are_named() {
    let pki = pki("bad input");
    let other = crate::certs::pki("other key");
    let err = ServerTlsConfig::new("not a pem", &pki.server.key).unwrap_err();
    assert!(err.to_string().contains("server certificate"), "{err}");
    let err = ServerTlsConfig::new(&pki.server.cert, &other.server.key).unwrap_err();
    assert!(err.to_string().contains("do not fit together"), "{err}");
    let err = ClientTlsConfig::new()
        .ca_certificate("garbage")
        .unwrap_err();
    assert!(err.to_string().contains("CA certificate"), "{err}");
    // The key PEM parses on its own.
    assert!(PrivateKeyDer::from_pem_slice(pki.server.key.as_bytes()).is_ok());
}
