//! Attribute keys and event names, as Kitex's obs-opentelemetry and
//! OpenTelemetry's RPC semantic conventions spell them.

/// `rpc.system`: the RPC system; [`RPC_SYSTEM_KITEX`] here, the value
/// Kitex's services report, since these are Kitex's protocols.
pub const RPC_SYSTEM: &str = "rpc.system";
/// The value of [`RPC_SYSTEM`].
pub const RPC_SYSTEM_KITEX: &str = "kitex";
/// `rpc.service`: the IDL service name.
pub const RPC_SERVICE: &str = "rpc.service";
/// `rpc.method`: the IDL method name.
pub const RPC_METHOD: &str = "rpc.method";
/// `rpc.grpc.status_code`: the final status code, as a number.
pub const RPC_GRPC_STATUS_CODE: &str = "rpc.grpc.status_code";
/// `request.protocol`: the transport (Kitex's key).
pub const REQUEST_PROTOCOL: &str = "request.protocol";
/// `status.code`: `Unset` on success, `Error` otherwise (Kitex's metric
/// attribute).
pub const STATUS_CODE: &str = "status.code";
/// `kitex.send_size`: bytes a call sent, in all (span attribute).
pub const KITEX_SEND_SIZE: &str = "kitex.send_size";
/// `kitex.recv_size`: bytes a call received, in all (span attribute).
pub const KITEX_RECV_SIZE: &str = "kitex.recv_size";
/// `peer.service`: the caller's `service.name`, on a server.
pub const PEER_SERVICE: &str = "peer.service";
/// `peer.service.namespace`: the caller's `service.namespace`.
pub const PEER_SERVICE_NAMESPACE: &str = "peer.service.namespace";
/// `peer.deployment.environment`: the caller's `deployment.environment`.
pub const PEER_DEPLOYMENT_ENVIRONMENT: &str = "peer.deployment.environment";

/// The span event of a message a stream sent (Kitex's `StreamSend`).
pub const EVENT_STREAM_SEND: &str = "stream_send";
/// The span event of a message a stream received (Kitex's `StreamRecv`).
pub const EVENT_STREAM_RECV: &str = "stream_recv";
/// `message.type` of a stream event: `SENT` or `RECEIVED`.
pub const MESSAGE_TYPE: &str = "message.type";
/// `message.id` of a stream event: the message's number in its direction,
/// from 1.
pub const MESSAGE_ID: &str = "message.id";
/// `message.uncompressed_size` of a stream event: the encoded size.
pub const MESSAGE_UNCOMPRESSED_SIZE: &str = "message.uncompressed_size";
