//! The generic client (tonic-thrift-generic: JSON in and out, the IDL read
//! at run time) on the same echo server as [`crate::ours`]: what JSON
//! transcoding costs next to the generated client.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use serde_json::{json, Value};
use tonic_thrift_generic::{ClientOptions, GenericClient};

use crate::common::{self, check_echo, BenchResult, Report};

fn client(addr: SocketAddr) -> BenchResult<GenericClient> {
    let idl = Path::new(env!("CARGO_MANIFEST_DIR")).join("../idl/echo.thrift");
    let desc = tonic_thrift_build::descriptor::load(&idl, &[], None).map_err(|e| e.to_string())?;
    Ok(GenericClient::new(
        Arc::new(desc),
        addr.to_string(),
        ClientOptions::default(),
    ))
}

async fn bidi_once(client: &GenericClient, payload: &str, n: usize) -> BenchResult<Report> {
    let (go, gate) = tokio::sync::oneshot::channel::<()>();
    let msg = json!({ "message": payload });
    let first = futures_util::stream::once(std::future::ready(msg.clone()));
    let rest = futures_util::stream::once(gate).flat_map(move |_| {
        let msg = msg.clone();
        futures_util::stream::iter(0..n).map(move |_| msg.clone())
    });
    let mut inbound = client
        .bidi("TestService", "Echo", first.chain(rest))
        .await
        .map_err(|e| format!("opening the bidi stream: {e}"))?;
    let text = |v: &Value| v["message"].as_str().unwrap_or_default().to_string();
    let m = inbound
        .message()
        .await
        .map_err(|e| format!("first echo: {e}"))?
        .ok_or("the stream ended before the first echo")?;
    check_echo(text(&m).as_bytes(), payload.as_bytes())?;
    let start = Instant::now();
    let _ = go.send(());
    for i in 0..n {
        let m = inbound
            .message()
            .await
            .map_err(|e| format!("echo {i}: {e}"))?
            .ok_or_else(|| format!("the stream ended after {i} of {n} echoes"))?;
        check_echo(text(&m).as_bytes(), payload.as_bytes())?;
    }
    let elapsed = start.elapsed();
    if inbound
        .message()
        .await
        .map_err(|e| format!("end: {e}"))?
        .is_some()
    {
        return Err("more echoes than messages sent".into());
    }
    Ok(Report::throughput(n as u64, payload.len(), elapsed))
}

/// Pipelined bidi echo through the generic client, over gRPC.
pub(crate) async fn bidi(addr: SocketAddr, size: usize, n: usize) -> BenchResult<Report> {
    let client = client(addr)?;
    let payload = common::payload(size);
    bidi_once(&client, &payload, (n / 10).max(1)).await?;
    bidi_once(&client, &payload, n).await
}
