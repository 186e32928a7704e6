#!/usr/bin/env python3
"""A thriftpy2 peer for tests/generic/thriftpy.rs: checks the generic JSON
transcoder (tonic-thrift-generic) against a Thrift implementation nobody in
this project wrote.

Reads one JSON object a line on stdin and prints one a line on stdout:

  {"op": "decode", "type": "AllTypes", "hex": "..."}
      thriftpy2 decodes the Thrift Binary struct and prints {"json": ...},
      the struct in the generic JSON form (fields by IDL name, enums by
      name, binary as base64, map keys spelled out, sets sorted).
  {"op": "encode", "type": "AllTypes", "json": {...}}
      thriftpy2 builds the struct from that JSON form and prints
      {"hex": ...}, its Thrift Binary encoding.

Type names are those of idl/kitchen_sink.thrift (`Item`, `NotFound` and
`Color` come from shared.thrift). The IDL is the thriftpy2-loadable copy
tests/python/kitchen_sink.thrift, whose only renamed fields are mapped back.
"""

import base64
import json
import os
import sys

import thriftpy2
from thriftpy2.protocol import TBinaryProtocolFactory
from thriftpy2.transport import TMemoryBuffer
from thriftpy2.utils import deserialize, serialize

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KS = thriftpy2.load(
    os.path.join(HERE, "kitchen_sink.thrift"),
    module_name="generic_ks_thrift",
    include_dirs=[os.path.join(ROOT, "idl")],
)
# thriftpy2 name -> IDL name for the fields the copy renames.
RENAMED = {"next_": "next", "self_": "self"}
UNRENAMED = {v: k for k, v in RENAMED.items()}

BOOL, BYTE, DOUBLE, I16, I32, I64, STRING, STRUCT, MAP, SET, LIST, BINARY = (
    2, 3, 4, 6, 8, 10, 11, 12, 13, 14, 15, 18)


def cls_of(name):
    if name.startswith("shared."):
        return getattr(KS.shared, name[len("shared."):])
    return getattr(KS, name)


def key_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return json.dumps(v, separators=(",", ":"), sort_keys=True)


def split(spec):
    """(ttype, arg) of a container element or map key/value spec."""
    if isinstance(spec, tuple):
        return spec[0], spec[1]
    return spec, None


def to_json(t, arg, v):
    if t == I32 and arg is not None:
        return arg._VALUES_TO_NAMES.get(v, v)
    if t in (BOOL, BYTE, I16, I32, I64, STRING):
        return v
    if t == DOUBLE:
        return float(v)
    if t == BINARY:
        return base64.b64encode(v).decode()
    if t == STRUCT:
        return struct_json(v)
    if t in (LIST, SET):
        et, ea = split(arg)
        items = [to_json(et, ea, x) for x in v]
        if t == SET:
            items.sort(key=lambda x: json.dumps(x, sort_keys=True))
        return items
    if t == MAP:
        (kt, ka), (vt, va) = split(arg[0]), split(arg[1])
        return {key_text(to_json(kt, ka, k)): to_json(vt, va, x) for k, x in v.items()}
    raise ValueError("unsupported type %r" % t)


def struct_json(obj):
    out = {}
    for fid, spec in obj.thrift_spec.items():
        t, name = spec[0], spec[1]
        arg = spec[2] if len(spec) == 4 else None
        v = getattr(obj, name)
        if v is None:
            continue
        out[RENAMED.get(name, name)] = to_json(t, arg, v)
    return out


def from_key(t, arg, text):
    if t == STRING:
        return text
    if t == BINARY:
        return base64.b64decode(text)
    if t == I32 and arg is not None:
        return arg._NAMES_TO_VALUES[text] if text in arg._NAMES_TO_VALUES else int(text)
    if t == BOOL:
        return text == "true"
    return from_json(t, arg, json.loads(text))


def hashable(v):
    if isinstance(v, list):
        return tuple(hashable(x) for x in v)
    return v


def from_json(t, arg, v):
    if t == I32 and arg is not None:
        return arg._NAMES_TO_VALUES[v] if isinstance(v, str) else v
    if t in (BOOL, STRING):
        return v
    if t in (BYTE, I16, I32, I64):
        return int(v)
    if t == DOUBLE:
        return float(v)
    if t == BINARY:
        return base64.b64decode(v)
    if t == STRUCT:
        return struct_from(arg, v)
    if t == LIST:
        et, ea = split(arg)
        return [from_json(et, ea, x) for x in v]
    if t == SET:
        et, ea = split(arg)
        return set(hashable(from_json(et, ea, x)) for x in v)
    if t == MAP:
        (kt, ka), (vt, va) = split(arg[0]), split(arg[1])
        return {hashable(from_key(kt, ka, k)): from_json(vt, va, x) for k, x in v.items()}
    raise ValueError("unsupported type %r" % t)


def struct_from(cls, v):
    obj = cls()
    for fid, spec in cls.thrift_spec.items():
        t, name = spec[0], spec[1]
        arg = spec[2] if len(spec) == 4 else None
        key = RENAMED.get(name, name)
        if key in v:
            setattr(obj, name, from_json(t, arg, v[key]))
    return obj


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        cls = cls_of(req["type"])
        if req["op"] == "decode":
            obj = deserialize(cls(), bytes.fromhex(req["hex"]), TBinaryProtocolFactory())
            print(json.dumps({"json": struct_json(obj)}), flush=True)
        else:
            obj = struct_from(cls, req["json"])
            data = serialize(obj, TBinaryProtocolFactory())
            print(json.dumps({"hex": data.hex()}), flush=True)


if __name__ == "__main__":
    main()
