//! Decoding from an async Thrift protocol, once for every generated type.
//!
//! `pilota::thrift::Message` asks every type for an async decoder. Rather
//! than generate a second copy of every decoder (which doubled the generated
//! code and the compile time), the value is first read off the async
//! protocol into Thrift Binary bytes, field by field and bounded in depth,
//! and then decoded by the type's ordinary, bounds-checked decoder. Our own
//! transports never take this path: they decode from buffers.

use bytes::BytesMut;
use pilota::thrift::{
    new_protocol_exception, Message, ProtocolExceptionKind, TAsyncInputProtocol, TOutputProtocol,
    TStructIdentifier, TType, ThriftException,
};

use super::{BinaryInput, BinaryOutput, MAX_STRUCT_DEPTH};

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Decodes an `M` from an async protocol: reads one struct into Binary
/// bytes, then decodes those with `M::decode`.
pub fn decode_async_via_binary<M, P>(p: &mut P) -> BoxFuture<'_, Result<M, ThriftException>>
where
    M: Message + 'static,
    P: TAsyncInputProtocol,
{
    Box::pin(async move {
        let mut out = BytesMut::new();
        copy_value(p, &mut out, TType::Struct, 0).await?;
        let mut bytes = out.freeze();
        M::decode(&mut BinaryInput::new(&mut bytes))
    })
}

/// Reads one value of type `ttype` from `p` and writes it to `out` in the
/// Binary protocol.
fn copy_value<'a, P: TAsyncInputProtocol>(
    p: &'a mut P,
    out: &'a mut BytesMut,
    ttype: TType,
    depth: usize,
) -> BoxFuture<'a, Result<(), ThriftException>> {
    Box::pin(async move {
        if depth > MAX_STRUCT_DEPTH {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::DepthLimit,
                format!("values are nested deeper than {MAX_STRUCT_DEPTH} levels"),
            ));
        }
        match ttype {
            TType::Bool => {
                let v = p.read_bool().await?;
                BinaryOutput::new(out).write_bool(v)
            }
            TType::I8 => {
                let v = p.read_i8().await?;
                BinaryOutput::new(out).write_i8(v)
            }
            TType::I16 => {
                let v = p.read_i16().await?;
                BinaryOutput::new(out).write_i16(v)
            }
            TType::I32 => {
                let v = p.read_i32().await?;
                BinaryOutput::new(out).write_i32(v)
            }
            TType::I64 => {
                let v = p.read_i64().await?;
                BinaryOutput::new(out).write_i64(v)
            }
            TType::Double => {
                let v = p.read_double().await?;
                BinaryOutput::new(out).write_double(v)
            }
            TType::Binary => {
                // Strings too: the UTF-8 check happens in the final decode.
                let v = p.read_bytes().await?;
                BinaryOutput::new(out).write_bytes(v)
            }
            TType::Uuid => {
                let v = p.read_uuid().await?;
                BinaryOutput::new(out).write_uuid(v)
            }
            TType::Struct => {
                p.read_struct_begin().await?;
                BinaryOutput::new(out).write_struct_begin(&TStructIdentifier { name: "" })?;
                loop {
                    let field = p.read_field_begin().await?;
                    if field.field_type == TType::Stop {
                        break;
                    }
                    BinaryOutput::new(out)
                        .write_field_begin(field.field_type, field.id.unwrap_or_default())?;
                    copy_value(p, out, field.field_type, depth + 1).await?;
                    p.read_field_end().await?;
                }
                p.read_struct_end().await?;
                BinaryOutput::new(out).write_field_stop()
            }
            TType::List => {
                let ident = p.read_list_begin().await?;
                BinaryOutput::new(out).write_list_begin(ident)?;
                for _ in 0..ident.size {
                    copy_value(p, out, ident.element_type, depth + 1).await?;
                }
                p.read_list_end().await
            }
            TType::Set => {
                let ident = p.read_set_begin().await?;
                BinaryOutput::new(out).write_set_begin(ident)?;
                for _ in 0..ident.size {
                    copy_value(p, out, ident.element_type, depth + 1).await?;
                }
                p.read_set_end().await
            }
            TType::Map => {
                let ident = p.read_map_begin().await?;
                BinaryOutput::new(out).write_map_begin(ident)?;
                for _ in 0..ident.size {
                    copy_value(p, out, ident.key_type, depth + 1).await?;
                    copy_value(p, out, ident.value_type, depth + 1).await?;
                }
                p.read_map_end().await
            }
            other => Err(new_protocol_exception(
                ProtocolExceptionKind::InvalidData,
                format!("cannot read a value of type {other:?}"),
            )),
        }
    })
}
