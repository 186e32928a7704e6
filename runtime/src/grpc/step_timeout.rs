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
///
/// ```no_run
/// use std::time::Duration;
/// use tonic_thrift::grpc::recv_timeout;
///
/// tonic_thrift::thrift_service!("docs/echo.thrift", build_server = false);
/// use echo::test_service_client::TestServiceClient;
///
/// # async fn run() -> Result<(), tonic::Status> {
/// # let mut client: TestServiceClient = todo!();
/// let request = echo::Request { message: "tick".into() };
/// let mut ticks = client.echo_server(request).await?.into_inner();
/// while let Some(tick) = recv_timeout(&mut ticks, Duration::from_secs(1)).await? {
///     println!("{}", tick.message);
/// }
/// # Ok(())
/// # }
/// ```
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
///
/// The channel is the sending half of the request stream of a client or
/// bidirectional streaming call (wrap its receiver in
/// `tokio_stream::wrappers::ReceiverStream` and pass that to the call).
///
/// ```
/// use std::time::Duration;
/// use tonic_thrift::grpc::send_timeout;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, _rx) = tokio::sync::mpsc::channel(1);
/// send_timeout(&tx, "first", Duration::from_millis(10)).await.unwrap();
///
/// // Nobody reads: the channel stays full and the send gives up.
/// let err = send_timeout(&tx, "second", Duration::from_millis(10)).await.unwrap_err();
/// assert_eq!(err.code(), tonic::Code::DeadlineExceeded);
/// # }
/// ```
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
///
/// ```
/// use std::time::Duration;
/// use tonic_thrift::grpc::call_with_timeout;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let slow_step = async {
///     tokio::time::sleep(Duration::from_secs(5)).await;
///     Ok(())
/// };
/// let err = call_with_timeout(Duration::from_millis(10), slow_step).await.unwrap_err();
/// assert_eq!(err.code(), tonic::Code::DeadlineExceeded);
/// # }
/// ```
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
