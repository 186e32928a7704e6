//! gRPC message compression (`grpc-encoding`): which encodings a server or
//! client accepts and sends, applied to tonic's `Grpc`.
//!
//! The encodings themselves are tonic's (features `gzip` and `zstd` turn
//! them on). A receiver announces what it accepts in
//! `grpc-accept-encoding`; a sender compresses only with an encoding the
//! other side announced (server replies) or that it was told to use
//! (client requests; a server that does not accept it answers
//! `UNIMPLEMENTED`). Size limits hold for compressed messages twice: the
//! message as sent is refused before it is buffered, and inflating stops
//! at the same limit, so a small message that would inflate past it (a zip
//! bomb) is refused without being inflated whole.

use tonic::codec::CompressionEncoding;

/// The encodings one side accepts and sends.
#[derive(Debug, Clone, Default)]
pub(crate) struct Compression {
    accept: Vec<CompressionEncoding>,
    send: Vec<CompressionEncoding>,
}

impl Compression {
    pub(crate) fn accept(&mut self, encoding: CompressionEncoding) {
        if !self.accept.contains(&encoding) {
            self.accept.push(encoding);
        }
    }

    pub(crate) fn send(&mut self, encoding: CompressionEncoding) {
        self.send.retain(|e| *e != encoding);
        self.send.push(encoding);
    }

    /// A server's `Grpc` with these encodings: replies use one the client
    /// accepts.
    pub(crate) fn server<C>(&self, mut grpc: tonic::server::Grpc<C>) -> tonic::server::Grpc<C>
    where
        C: tonic::codec::Codec,
    {
        for e in &self.accept {
            grpc = grpc.accept_compressed(*e);
        }
        for e in &self.send {
            grpc = grpc.send_compressed(*e);
        }
        grpc
    }

    /// A client's `Grpc` with these encodings: requests use the last one
    /// set to send.
    pub(crate) fn client<T>(&self, mut grpc: tonic::client::Grpc<T>) -> tonic::client::Grpc<T> {
        for e in &self.accept {
            grpc = grpc.accept_compressed(*e);
        }
        if let Some(e) = self.send.last() {
            grpc = grpc.send_compressed(*e);
        }
        grpc
    }
}
