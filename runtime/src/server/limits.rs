//! Server limits checked when a connection, stream or call is created:
//! connections overall, concurrent streams per connection and overall.
//!
//! A connection over the limit is closed at accept. Over a stream limit, a
//! gRPC call is answered `RESOURCE_EXHAUSTED` and a ping-pong call a
//! `TApplicationException`, each with a message naming the limit; the
//! server keeps serving everything else. (HTTP/2 streams per connection
//! are limited by the HTTP/2 layer, which advertises the limit.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Limit settings and the counters they apply to.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_streams_per_connection: Option<usize>,
    pub(crate) max_streams_total: Option<usize>,
    connections: Arc<AtomicUsize>,
    streams: Arc<AtomicUsize>,
}

/// Held while a connection is open; counts it.
#[derive(Debug)]
pub(crate) struct ConnectionSlot(Arc<AtomicUsize>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Held while a stream or call is in progress; counts it on its connection
/// and overall.
#[derive(Debug)]
pub(crate) struct StreamSlot {
    connection: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.connection.fetch_sub(1, Ordering::Relaxed);
        self.total.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A stream slot travelling with its request, from the connection that
/// admitted the stream to the response body that ends it.
#[derive(Debug, Clone)]
pub(crate) struct StreamHold {
    /// Only held: dropping the last clone releases the slot.
    _slot: Arc<StreamSlot>,
}

impl StreamHold {
    pub(crate) fn new(slot: StreamSlot) -> Self {
        StreamHold {
            _slot: Arc::new(slot),
        }
    }
}

fn take(counter: &AtomicUsize, max: Option<usize>) -> bool {
    let n = counter.fetch_add(1, Ordering::AcqRel) + 1;
    match max {
        Some(m) if n > m => {
            counter.fetch_sub(1, Ordering::AcqRel);
            false
        }
        _ => true,
    }
}

impl Limits {
    /// Limits with these settings and zeroed counters.
    pub(crate) fn new(
        max_connections: Option<usize>,
        max_streams_per_connection: Option<usize>,
        max_streams_total: Option<usize>,
    ) -> Self {
        Limits {
            max_connections,
            max_streams_per_connection,
            max_streams_total,
            ..Limits::default()
        }
    }

    /// True when any stream limit is set.
    pub(crate) fn counts_streams(&self) -> bool {
        self.max_streams_per_connection.is_some() || self.max_streams_total.is_some()
    }

    /// Admits a new connection, or says which limit refuses it.
    pub(crate) fn connection(&self) -> Result<ConnectionSlot, String> {
        if !take(&self.connections, self.max_connections) {
            return Err(format!(
                "the server's limit of {} connections is reached",
                self.max_connections.unwrap_or_default()
            ));
        }
        Ok(ConnectionSlot(self.connections.clone()))
    }

    /// Admits a new ping-pong call on the connection whose counter is
    /// `connection`, or says which limit refuses it.
    pub(crate) fn stream(&self, connection: &Arc<AtomicUsize>) -> Result<StreamSlot, String> {
        self.admit(connection, self.max_streams_per_connection)
    }

    /// Admits a new HTTP/2 stream on the connection whose counter is
    /// `connection`, checking only the server-wide limit: the HTTP/2 layer
    /// enforces the per-connection one itself (it advertises it in
    /// SETTINGS and refuses streams over it), and counts a stream a little
    /// longer than this slot lives, so checking it twice could refuse a
    /// stream the client was told it may open.
    pub(crate) fn http2_stream(&self, connection: &Arc<AtomicUsize>) -> Result<StreamSlot, String> {
        self.admit(connection, None)
    }

    fn admit(
        &self,
        connection: &Arc<AtomicUsize>,
        per_connection: Option<usize>,
    ) -> Result<StreamSlot, String> {
        if !take(connection, per_connection) {
            return Err(format!(
                "the limit of {} concurrent streams per connection is reached",
                per_connection.unwrap_or_default()
            ));
        }
        if !take(&self.streams, self.max_streams_total) {
            connection.fetch_sub(1, Ordering::AcqRel);
            return Err(format!(
                "the server's limit of {} concurrent streams is reached",
                self.max_streams_total.unwrap_or_default()
            ));
        }
        Ok(StreamSlot {
            connection: connection.clone(),
            total: self.streams.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_limits_admit_exactly_the_limit() {
        let limits = Limits::new(None, Some(2), Some(3));
        let (a, b) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let s1 = limits.stream(&a).unwrap();
        let _s2 = limits.stream(&a).unwrap();
        assert!(limits.stream(&a).unwrap_err().contains("per connection"));
        let _s3 = limits.stream(&b).unwrap();
        assert!(limits
            .stream(&b)
            .unwrap_err()
            .contains("concurrent streams is reached"));
        drop(s1);
        assert!(limits.stream(&b).is_ok());
    }

    #[test]
    fn http2_streams_check_only_the_total() {
        let limits = Limits::new(None, Some(1), Some(2));
        let a = Arc::new(AtomicUsize::new(0));
        let _s1 = limits.http2_stream(&a).unwrap();
        let _s2 = limits.http2_stream(&a).unwrap();
        assert!(limits
            .http2_stream(&a)
            .unwrap_err()
            .contains("limit of 2 concurrent streams is reached"));
    }

    #[test]
    fn connections_over_the_limit_are_refused() {
        let limits = Limits::new(Some(1), None, None);
        let first = limits.connection().unwrap();
        assert!(limits.connection().unwrap_err().contains("1 connections"));
        drop(first);
        assert!(
            limits.connection().is_ok(),
            "a closed connection frees its slot"
        );
    }
}
