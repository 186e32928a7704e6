//! Bounding one step of a stream (like Kitex's `streaming.CallWithTimeout`).
//!
//! A stream's overall deadline covers it from creation to the end; these
//! helpers bound a single `recv` or `send` instead. When one fires it
//! returns `DEADLINE_EXCEEDED` saying which step timed out; drop the stream
//! then to cancel it (the server sees the cancel).

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use tonic::Status;

/// Receives the next message, or fails with `DEADLINE_EXCEEDED` after `timeout`.
///
/// `Ok(None)` means the stream ended.
pub async fn recv_timeout<T>(
    stream: &mut tonic::Streaming<T>,
    timeout: Duration,
) -> Result<Option<T>, Status> {
    match tokio::time::timeout(timeout, stream.next()).await {
        Ok(Some(r)) => r.map(Some),
        Ok(None) => Ok(None),
        Err(_) => Err(Status::deadline_exceeded(format!(
            "recv timed out after {timeout:?}; the stream should be dropped"
        ))),
    }
}

/// Sends a message into a stream's request channel, or fails with
/// `DEADLINE_EXCEEDED` when the channel stays full for `timeout`.
pub async fn send_timeout<T>(
    tx: &tokio::sync::mpsc::Sender<T>,
    message: T,
    timeout: Duration,
) -> Result<(), Status> {
    match tokio::time::timeout(timeout, tx.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Status::cancelled("the stream is closed; nothing was sent")),
        Err(_) => Err(Status::deadline_exceeded(format!(
            "send timed out after {timeout:?}; the stream should be dropped"
        ))),
    }
}

/// Runs `step` (a recv, a send, or several) with a time bound.
pub async fn call_with_timeout<T>(
    timeout: Duration,
    step: impl Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    tokio::time::timeout(timeout, step)
        .await
        .unwrap_or_else(|_| {
            Err(Status::deadline_exceeded(format!(
                "the step timed out after {timeout:?}"
            )))
        })
}
