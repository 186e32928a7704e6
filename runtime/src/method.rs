//! What generated code tells the runtime about each method's wire wrappers.

use pilota::thrift::Message;
use tonic::Status;

/// The Args struct of a method (`{1: arg1, 2: arg2, ...}`): what a `unary`
/// or ping-pong call carries.
pub trait ThriftArgs: Message + Sync + 'static {
    /// What the handler receives: the single argument, or the Args struct
    /// itself for methods with zero or several arguments.
    type Input: Send + Sync + 'static;

    /// Wraps a handler input for the wire.
    fn from_input(input: Self::Input) -> Self;

    /// Unwraps the wire struct into the handler input.
    fn into_input(self) -> Self::Input;
}

/// The Result struct of a method (`{0: success, 1: exc1, ...}`).
pub trait ThriftResult: Message + Sync + 'static {
    /// The success value (`()` for `void`).
    type Ok: Send + Sync + 'static;
    /// The method's error: [`Status`], or the generated `…Error` enum of the
    /// declared exceptions plus `Status` for methods with `throws`.
    type Err: From<Status> + Send + 'static;

    /// Server side: a handler outcome to what goes on the wire. Declared
    /// exceptions travel in the Result struct; a plain `Status` is returned
    /// as `Err` and becomes the gRPC status.
    fn from_outcome(outcome: Result<Self::Ok, Self::Err>) -> Result<Self, Status>;

    /// Client side: the Result struct read from the wire to the outcome.
    fn into_outcome(self) -> Result<Self::Ok, Self::Err>;
}
