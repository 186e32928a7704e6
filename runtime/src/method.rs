//! The wire wrappers of `unary` and ping-pong methods: each call carries an
//! Args struct (`{1: arg1, 2: arg2, ...}`) and each reply a Result struct
//! (`{0: success, 1: exception1, ...}`), as Thrift has always framed calls.
//!
//! [`ThriftArgs`] and [`ThriftResult`] say how a wrapper maps to what a
//! handler receives and returns. The common shapes are generic types here
//! ([`OneArg`], [`WholeArgs`], [`ValueResult`], [`VoidResult`]), so generated
//! code only writes a Result type of its own for methods with `throws`.

use pilota::thrift::{
    Message, TAsyncInputProtocol, TInputProtocol, TLengthProtocol, TOutputProtocol, ThriftException,
};
use tonic::Status;

use crate::codec::async_decode::decode_async_via_binary;
use crate::value::{
    field_len, missing_result, read_into, read_struct, skip, struct_len, write_field, write_struct,
    ThriftValue,
};

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

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

/// The Args struct of a method with one argument (field `ID`, default
/// requiredness): the handler receives the argument itself. An absent
/// argument decodes as `T::default()`, as Thrift's default requiredness asks.
#[derive(Debug, Clone, PartialEq)]
pub struct OneArg<T, const ID: i16>(pub T);

impl<T, const ID: i16> Message for OneArg<T, ID>
where
    T: ThriftValue + Default + Sync + 'static,
{
    fn encode<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
        write_struct(p, "args", |p| write_field(p, ID, &self.0))
    }

    fn decode<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
        let mut arg = None;
        read_struct(p, |p, id, ttype| {
            if id == ID {
                read_into(p, ttype, &mut arg, "args", "argument")
            } else {
                skip(p, ttype)
            }
        })?;
        Ok(OneArg(arg.unwrap_or_default()))
    }

    #[allow(refining_impl_trait)]
    fn decode_async<P: TAsyncInputProtocol>(
        p: &mut P,
    ) -> BoxFuture<'_, Result<Self, ThriftException>> {
        decode_async_via_binary(p)
    }

    fn size<P: TLengthProtocol>(&self, p: &mut P) -> usize {
        struct_len(p, "args", |p| field_len(p, ID, &self.0))
    }
}

impl<T, const ID: i16> ThriftArgs for OneArg<T, ID>
where
    T: ThriftValue + Default + Sync + 'static,
{
    type Input = T;

    fn from_input(input: T) -> Self {
        OneArg(input)
    }

    fn into_input(self) -> T {
        self.0
    }
}

/// The Args struct of a method with zero or several arguments: a generated
/// struct `S` with one field per argument, which the handler receives whole.
#[derive(Debug, Clone, PartialEq)]
pub struct WholeArgs<S>(pub S);

impl<S: Message + Sync + 'static> Message for WholeArgs<S> {
    #[inline]
    fn encode<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
        self.0.encode(p)
    }

    #[inline]
    fn decode<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
        S::decode(p).map(WholeArgs)
    }

    #[allow(refining_impl_trait)]
    fn decode_async<P: TAsyncInputProtocol>(
        p: &mut P,
    ) -> BoxFuture<'_, Result<Self, ThriftException>> {
        decode_async_via_binary(p)
    }

    #[inline]
    fn size<P: TLengthProtocol>(&self, p: &mut P) -> usize {
        self.0.size(p)
    }
}

impl<S: Message + Sync + 'static> ThriftArgs for WholeArgs<S> {
    type Input = S;

    fn from_input(input: S) -> Self {
        WholeArgs(input)
    }

    fn into_input(self) -> S {
        self.0
    }
}

/// The Result struct of a method that returns a value and declares no
/// exceptions: the value in field 0.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueResult<T>(pub T);

impl<T: ThriftValue + Sync + 'static> Message for ValueResult<T> {
    fn encode<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
        write_struct(p, "result", |p| write_field(p, 0, &self.0))
    }

    fn decode<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
        let mut value = None;
        read_struct(p, |p, id, ttype| {
            if id == 0 {
                read_into(p, ttype, &mut value, "result", "success")
            } else {
                skip(p, ttype)
            }
        })?;
        value
            .map(ValueResult)
            .ok_or_else(|| missing_result("the method"))
    }

    #[allow(refining_impl_trait)]
    fn decode_async<P: TAsyncInputProtocol>(
        p: &mut P,
    ) -> BoxFuture<'_, Result<Self, ThriftException>> {
        decode_async_via_binary(p)
    }

    fn size<P: TLengthProtocol>(&self, p: &mut P) -> usize {
        struct_len(p, "result", |p| field_len(p, 0, &self.0))
    }
}

impl<T: ThriftValue + Sync + 'static> ThriftResult for ValueResult<T> {
    type Ok = T;
    type Err = Status;

    fn from_outcome(outcome: Result<T, Status>) -> Result<Self, Status> {
        outcome.map(ValueResult)
    }

    fn into_outcome(self) -> Result<T, Status> {
        Ok(self.0)
    }
}

/// The Result struct of a `void` method that declares no exceptions: an
/// empty struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VoidResult;

impl Message for VoidResult {
    fn encode<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
        write_struct(p, "result", |_| Ok(()))
    }

    fn decode<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
        read_struct(p, |p, _, ttype| skip(p, ttype))?;
        Ok(VoidResult)
    }

    #[allow(refining_impl_trait)]
    fn decode_async<P: TAsyncInputProtocol>(
        p: &mut P,
    ) -> BoxFuture<'_, Result<Self, ThriftException>> {
        decode_async_via_binary(p)
    }

    fn size<P: TLengthProtocol>(&self, p: &mut P) -> usize {
        struct_len(p, "result", |_| 0)
    }
}

impl ThriftResult for VoidResult {
    type Ok = ();
    type Err = Status;

    fn from_outcome(outcome: Result<(), Status>) -> Result<Self, Status> {
        outcome.map(|()| VoidResult)
    }

    fn into_outcome(self) -> Result<(), Status> {
        Ok(())
    }
}
