#!/usr/bin/env python3
"""A thriftpy2 peer for tests/codegen/thriftpy_cross.rs.

thriftpy2 is a Thrift implementation that nobody in this project wrote, so
agreeing with it byte for byte is evidence that our Thrift Binary encoding is
right. The Rust test drives this script over stdin/stdout, one JSON object a
line, with every payload as hex:

  python3 tests/python/thriftpy_peer.py encode
      thriftpy2 encodes the cases of `encode_cases()` and prints
      {"name": ..., "type": ..., "hex": ...} per case. The Rust test decodes
      each with the generated type and compares with its own expected value.

  python3 tests/python/thriftpy_peer.py decode  < lines
      reads {"name": ..., "hex": ...} lines that the Rust side encoded,
      decodes each with thriftpy2 (the pure-Python protocol and, when
      available, the Cython one) and compares field by field with the
      expected values of `decode_expectations()`. Prints "ok N cases" and
      exits 0, or prints every mismatch to stderr and exits 1.

The IDL is tests/python/kitchen_sink.thrift, a copy of idl/kitchen_sink.thrift
that differs only where thriftpy2 is lacking (see its header); this script
checks that the copy is still in sync with the original.
"""

import io
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
IDL_DIR = os.path.join(ROOT, "idl")
ORIGINAL = os.path.join(IDL_DIR, "kitchen_sink.thrift")
COPY = os.path.join(HERE, "kitchen_sink.thrift")
HEADER_END = "# ---- end of header: the rest is the original, substituted ----\n"

# The only differences between the original IDL and the copy (see the copy's
# header for why each is needed).
SUBSTITUTIONS = [
    ('const binary MAGIC = "\\x00abc"', 'const binary MAGIC = "abc"'),
    ("2: optional Node next,", "2: optional Node next_,"),
    ("3: bool self,", "3: bool self_,"),
]

# Newer / different versions of kitchen-sink types, as another peer might
# have them: the Rust side must skip what it does not know.
EVOLVED_IDL = """
struct Inner {
    1: string s,
    2: list<Inner> kids,
}

/* shared.Item as a newer peer sees it: same ids 1..3 plus unknown fields of
   every wire type, before, between and after the known ones. */
struct ItemV2 {
    200: bool extra_bool,
    1: required i64 id,
    4: list<map<string, set<i32>>> extra_list,
    2: optional string label,
    5: double extra_double,
    6: Inner extra_struct,
    -7: binary extra_bin,
    3: i32 color,
    7: map<i32, list<Inner>> extra_map,
    8: byte extra_byte,
    9: i16 extra_i16,
    10: i64 extra_i64,
    11: set<string> extra_set,
}

/* Known field ids of AllTypes with the wrong wire types: each must be
   skipped, leaving the IDL default. */
struct AllTypesWrong {
    1: bool b,
    5: string int32,
    7: map<string, string> dbl,
    8: i32 str,
    10: list<i32> maybe,
    -1: string negative_id,
    100: i64 count,
}

/* A list field whose elements have the wrong type. */
struct ContainersWrong {
    1: list<string> ints,
}

/* Node with an extra field, nested through the recursion. */
struct NodeV2 {
    1: i32 value,
    2: optional NodeV2 next_,
    3: list<NodeV2> children,
    4: string note,
}

/* Choice with a variant this IDL does not know. */
struct ChoiceV2 {
    1: i32 number,
    2: string text,
    9: string newer,
}
"""


def fail(msg):
    print("thriftpy_peer: " + msg, file=sys.stderr)
    sys.exit(1)


def check_copy():
    with open(ORIGINAL, encoding="utf-8") as f:
        expected = f.read()
    for old, new in SUBSTITUTIONS:
        if expected.count(old) != 1:
            fail("idl/kitchen_sink.thrift no longer contains %r exactly once: "
                 "update SUBSTITUTIONS and tests/python/kitchen_sink.thrift" % old)
        expected = expected.replace(old, new)
    with open(COPY, encoding="utf-8") as f:
        copy = f.read()
    if HEADER_END not in copy:
        fail("tests/python/kitchen_sink.thrift lost its header marker")
    if copy.split(HEADER_END, 1)[1] != expected:
        fail("tests/python/kitchen_sink.thrift is out of sync with "
             "idl/kitchen_sink.thrift: regenerate it (header + original with "
             "SUBSTITUTIONS applied)")


def struct_classes(module):
    out = []
    for value in vars(module).values():
        if isinstance(value, type) and hasattr(value, "thrift_spec") \
                and hasattr(value, "default_spec"):
            out.append(value)
    return out


class Idl:
    """The loaded modules. With `raw`, constructors default every field to
    None, so a decoded value shows exactly the fields that were on the wire
    (thriftpy2 otherwise fills absent fields with IDL defaults)."""

    def __init__(self, raw):
        import thriftpy2
        self.ks = thriftpy2.load(COPY, module_name="kitchen_sink_thrift",
                                 include_dirs=[IDL_DIR])
        self.shared = self.ks.shared
        self.ev = thriftpy2.load_fp(io.StringIO(EVOLVED_IDL),
                                    module_name="evolved_thrift")
        if raw:
            for module in (self.ks, self.shared, self.ev):
                for cls in struct_classes(module):
                    init = cls.__init__
                    if init.__defaults__:
                        init.__defaults__ = (None,) * len(init.__defaults__)


def protocol_factories():
    from thriftpy2.protocol.binary import TBinaryProtocolFactory
    out = [("pure-python", TBinaryProtocolFactory())]
    try:
        from thriftpy2.protocol.cybin import TCyBinaryProtocolFactory
        out.append(("cython", TCyBinaryProtocolFactory()))
    except ImportError:
        pass
    return out


def serialize(obj, factory):
    from thriftpy2.transport import TMemoryBuffer
    trans = TMemoryBuffer()
    proto = factory.get_protocol(trans)
    obj.write(proto)
    if hasattr(proto, "trans") and hasattr(proto.trans, "flush"):
        proto.trans.flush()
    return trans.getvalue()


# --------------------------------------------------------------------------
# encode: thriftpy2 -> Rust


def encode_cases(idl):
    """(name, Rust type, thriftpy2 value) triples. The Rust test holds the
    expected Rust value for each name."""
    ks, sh, ev = idl.ks, idl.shared, idl.ev
    C = sh.Color
    cases = []

    def case(name, rust_type, value):
        cases.append((name, rust_type, value))

    # AllTypes --------------------------------------------------------------
    # thriftpy2 writes its IDL defaults (int32, dbl, str, count) and omits
    # every other unset field.
    case("alltypes_only_required", "AllTypes", ks.AllTypes(b=True))
    # Nothing but the required field: the Rust side must fill IDL defaults
    # for default-requiredness fields and leave optionals (even `count`,
    # whose IDL default is 3) unset.
    case("alltypes_bare", "AllTypes",
         ks.AllTypes(b=False, int32=None, dbl=None, str=None, count=None))
    case("alltypes_full", "AllTypes", ks.AllTypes(
        b=True, by=-128, small=127, short_=-32768, int32=-2147483648,
        int64=9223372036854775807, dbl=-0.0, str="h\u00e9llo \u2713 \U0001F980 \x00 nul",
        bin=bytes(range(256)), maybe="", negative_id=-1, count=2147483647,
        ratio=float("inf")))
    case("alltypes_extremes", "AllTypes", ks.AllTypes(
        b=False, by=127, small=-128, short_=32767, int32=2147483647,
        int64=-9223372036854775808, dbl=5e-324, str="", bin=b"",
        maybe="\U0010FFFF", negative_id=2147483647, count=-2147483648,
        ratio=-1.7976931348623157e308))
    case("alltypes_missing_required", "AllTypes", ks.AllTypes(b=None))

    # Containers ------------------------------------------------------------
    case("containers_empty_struct", "Containers", ks.Containers())
    case("containers_empty_containers", "Containers", ks.Containers(
        ints=[], names=set(), deep={}, nested_lists=[], by_color={},
        doubles=set(), flags={}, items=[], all=[]))
    case("containers_full", "Containers", ks.Containers(
        ints=[1, -2, 2147483647, -2147483648, 0],
        names={"a", "b", "\u00fc", ""},
        deep={
            "k": [{1: {1, 2, -3}, -5: set()}, {}],
            "": [],
            "big": [{2147483647: {9223372036854775807, -9223372036854775808}}],
        },
        nested_lists=[[["x", "y"], []], [], [[""]]],
        by_color={
            C.RED: sh.Item(id=1),
            C.GREEN: sh.Item(id=2, label="two", color=C.BLUE),
            C.NEGATIVE: sh.Item(id=-3, color=C.NEGATIVE),
            99: sh.Item(id=99, label="unknown", color=42),
        },
        doubles={0.5, -1.25, 1e100, 0.0, float("-inf")},
        flags={b"\x00\xff": True, b"": False, b"abc": True},
        items=[sh.Item(id=1, label="x"), sh.Item(id=2)],
        all=[ks.AllTypes(b=True),
             ks.AllTypes(b=False, maybe="m", negative_id=-9, bin=b"\x01")]))

    # Choice (union): each variant, nesting, and invalid unions ------------
    case("choice_number", "Choice", ks.Choice(number=-7))
    case("choice_text", "Choice", ks.Choice(text="t\u00ebxt"))
    case("choice_item", "Choice",
         ks.Choice(item=sh.Item(id=5, label="five", color=C.RED)))
    case("choice_many", "Choice", ks.Choice(many=[
        ks.Choice(number=1),
        ks.Choice(many=[ks.Choice(text="deep"), ks.Choice(many=[])]),
        ks.Choice(item=sh.Item(id=6)),
    ]))
    case("choice_many_empty", "Choice", ks.Choice(many=[]))
    case("choice_none_set", "Choice", ks.Choice())
    case("choice_two_set", "Choice", ks.Choice(number=1, text="x"))

    # Node (recursive) --------------------------------------------------------
    case("node_leaf", "Node", ks.Node(value=0))
    chain = ks.Node(value=25, children=[])
    for v in range(24, -1, -1):
        chain = ks.Node(value=v, next_=chain,
                        children=[ks.Node(value=-v, children=[])])
    case("node_chain", "Node", chain)
    case("node_tree", "Node", ks.Node(value=1, children=[
        ks.Node(value=2, children=[ks.Node(value=4, children=[])]),
        ks.Node(value=3, next_=ks.Node(value=5, children=[]), children=[]),
    ]))

    # Keywords, exceptions, enums -------------------------------------------
    case("keywords", "Keywords", ks.Keywords(
        type="t", match=-1, self_=True, crate="c", fn=1 << 40))
    case("keywords_empty", "Keywords", ks.Keywords())
    case("oops_default", "Oops", ks.Oops())
    case("oops_full", "Oops", ks.Oops(message="bad", code=-1))
    case("not_found", "NotFound", sh.NotFound(message="nf", id=-42))
    case("item_default", "Item", sh.Item(id=1))
    case("item_enum_values", "Item", sh.Item(id=2, label="neg", color=C.NEGATIVE))
    case("item_unknown_enum", "Item", sh.Item(id=3, color=1234))
    case("item_unknown_negative_enum", "Item", sh.Item(id=4, color=-2147483648))
    case("item_missing_required", "Item", sh.Item(label="no id"))

    # Schema evolution: unknown fields and wrong types are skipped ----------
    case("item_from_newer_peer", "Item", ev.ItemV2(
        extra_bool=True, id=10, extra_list=[{"a": {1, 2}}, {}], label="ten",
        extra_double=2.5,
        extra_struct=ev.Inner(s="in", kids=[ev.Inner(s="kid", kids=[])]),
        extra_bin=b"\x00\x01", color=6,
        extra_map={1: [ev.Inner(s="m")], -1: []}, extra_byte=-1,
        extra_i16=300, extra_i64=-1, extra_set={"p", "q"}))
    case("alltypes_wrong_types", "AllTypes", ev.AllTypesWrong(
        b=True, int32="not an i32", dbl={"k": "v"}, str=12, maybe=[1, 2],
        negative_id="nope", count=99))
    case("containers_wrong_element_type", "Containers",
         ev.ContainersWrong(ints=["a", "b"]))
    case("node_from_newer_peer", "Node", ev.NodeV2(
        value=1, note="top", next_=ev.NodeV2(value=2, note="next", children=[]),
        children=[ev.NodeV2(value=3, note="child", children=[])]))
    case("choice_with_unknown_variant", "Choice",
         ev.ChoiceV2(number=3, newer="ignored"))
    case("choice_only_unknown_variant", "Choice", ev.ChoiceV2(newer="only"))

    # Service wrappers: thriftpy2's {Method}_args / {Method}_result against
    # the generated {Method}Args / {Method}Result.
    S = ks.Sink
    case("sink_get_args", "GetArgs", S.Get_args(id=-5))
    case("sink_get_result_success", "GetResult",
         S.Get_result(success=sh.Item(id=1, label="one")))
    case("sink_get_result_not_found", "GetResult",
         S.Get_result(not_found=sh.NotFound(message="gone", id=3)))
    case("sink_get_result_oops", "GetResult", S.Get_result(oops=ks.Oops(message="o")))
    case("sink_get_result_empty", "GetResult", S.Get_result())
    case("sink_add_args", "AddArgs", S.Add_args(a=1, b=-2))
    case("sink_add_result", "AddResult", S.Add_result(success=3))
    case("sink_nothing_result", "NothingResult", S.Nothing_result())
    case("sink_fire_args", "FireArgs", S.Fire_args(event="e"))
    case("sink_unary_args", "UnaryArgs", S.Unary_args(req=ks.Containers(ints=[1])))
    case("base_ping_result", "PingResult", sh.Base.Ping_result(success="pong"))
    return cases


def envelope_cases(idl):
    """Whole Thrift messages (strict header + struct), written through the
    protocol API rather than a struct's write()."""
    from thriftpy2.thrift import TMessageType
    ks = idl.ks
    out = []

    def message(name, method, mtype, seqid, body):
        def write(factory):
            from thriftpy2.transport import TMemoryBuffer
            trans = TMemoryBuffer()
            proto = factory.get_protocol(trans)
            proto.write_message_begin(method, mtype, seqid)
            body.write(proto)
            proto.write_message_end()
            if hasattr(proto, "trans") and hasattr(proto.trans, "flush"):
                proto.trans.flush()
            return trans.getvalue()
        out.append((name, "envelope", write))

    message("envelope_reply_exception", "Get", TMessageType.REPLY, 9,
            ks.Sink.Get_result(oops=ks.Oops(message="boom", code=7)))
    message("envelope_call", "Get", TMessageType.CALL, -1,
            ks.Sink.Get_args(id=77))
    return out


def run_encode():
    idl = Idl(raw=False)
    factories = protocol_factories()
    rows = []
    for name, rust_type, value in encode_cases(idl):
        encodings = [(label, serialize(value, f)) for label, f in factories]
        rows.append((name, rust_type, encodings))
    for name, rust_type, write in envelope_cases(idl):
        rows.append((name, rust_type, [(label, write(f)) for label, f in factories]))
    for name, rust_type, encodings in rows:
        first_label, data = encodings[0]
        for label, other in encodings[1:]:
            if other != data:
                fail("%s: thriftpy2's %s and %s encoders disagree: %s vs %s"
                     % (name, first_label, label, data.hex(), other.hex()))
        print(json.dumps({"name": name, "type": rust_type, "hex": data.hex()}))
    sys.stdout.flush()


# --------------------------------------------------------------------------
# decode: Rust -> thriftpy2


def decode_expectations(idl):
    """name -> (class to decode into, expected value). Values are built with
    every-field-None constructors: each field the Rust side writes is listed."""
    ks, sh = idl.ks, idl.shared
    C = sh.Color

    def all_types(**kw):
        # AllTypes::default() in Rust: non-optional fields always written.
        base = dict(b=False, by=0, small=0, short_=0, int32=42, int64=0,
                    dbl=1.5, str="default", bin=b"", maybe=None,
                    negative_id=None, count=3, ratio=0.0)
        base.update(kw)
        return ks.AllTypes(**base)

    def item(id, label=None, color=C.GREEN):
        return sh.Item(id=id, label=label, color=color)

    def containers(**kw):
        base = dict(ints=[], names=set(), deep={}, nested_lists=[],
                    by_color={}, doubles=set(), flags={}, items=None, all=[])
        base.update(kw)
        return ks.Containers(**base)

    def node(value, next_=None, children=()):
        return ks.Node(value=value, next_=next_, children=list(children))

    def chain(depth):
        n = node(depth)
        for v in range(depth - 1, -1, -1):
            n = node(v, next_=n, children=[node(-v)])
        return n

    e = {}
    e["alltypes_default"] = (ks.AllTypes, all_types())
    e["alltypes_full"] = (ks.AllTypes, all_types(
        b=True, by=-128, small=127, short_=-32768, int32=-2147483648,
        int64=9223372036854775807, dbl=-0.0,
        str="h\u00e9llo \u2713 \U0001F980 \x00 nul", bin=bytes(range(256)),
        maybe="", negative_id=-1, count=2147483647, ratio=float("inf")))
    e["alltypes_unset_optionals"] = (ks.AllTypes, all_types(
        b=True, count=None, dbl=float("nan"), ratio=float("-inf"),
        by=127, small=-128, short_=32767, int32=2147483647,
        int64=-9223372036854775808, str="", bin=b"\xff\x00"))
    e["containers_default"] = (ks.Containers, containers())
    e["containers_full"] = (ks.Containers, containers(
        ints=[1, -2, 2147483647, -2147483648, 0],
        names={"a", "b", "\u00fc", ""},
        deep={
            "k": [{1: {1, 2, -3}, -5: set()}, {}],
            "": [],
            "big": [{2147483647: {9223372036854775807, -9223372036854775808}}],
        },
        nested_lists=[[["x", "y"], []], [], [[""]]],
        by_color={
            C.RED: item(1),
            C.GREEN: item(2, "two", C.BLUE),
            C.NEGATIVE: item(-3, None, C.NEGATIVE),
            99: item(99, "unknown", 42),
        },
        doubles={0.5, -1.25, 1e100, 0.0, float("-inf")},
        flags={b"\x00\xff": True, b"": False, b"abc": True},
        items=[item(1, "x"), item(2)],
        all=[all_types(b=True),
             all_types(maybe="m", negative_id=-9, bin=b"\x01")]))
    e["containers_items_empty"] = (ks.Containers, containers(items=[]))
    e["choice_number"] = (ks.Choice, ks.Choice(number=-7))
    e["choice_text"] = (ks.Choice, ks.Choice(text="t\u00ebxt"))
    e["choice_item"] = (ks.Choice, ks.Choice(item=item(5, "five", C.RED)))
    e["choice_many"] = (ks.Choice, ks.Choice(many=[
        ks.Choice(number=1),
        ks.Choice(many=[ks.Choice(text="deep"), ks.Choice(many=[])]),
        ks.Choice(item=item(6)),
    ]))
    e["choice_many_empty"] = (ks.Choice, ks.Choice(many=[]))
    e["node_default"] = (ks.Node, node(0))
    e["node_chain"] = (ks.Node, chain(25))
    e["node_tree"] = (ks.Node, node(1, children=[
        node(2, children=[node(4)]), node(3, next_=node(5))]))
    e["keywords"] = (ks.Keywords, ks.Keywords(
        type="t", match=-1, self_=True, crate="c", fn=1 << 40))
    e["keywords_default"] = (ks.Keywords, ks.Keywords(
        type="", match=0, self_=False, crate="", fn=0))
    e["oops_default"] = (ks.Oops, ks.Oops(message="", code=500))
    e["oops_full"] = (ks.Oops, ks.Oops(message="bad", code=-1))
    e["not_found"] = (sh.NotFound, sh.NotFound(message="nf", id=-42))
    e["item_default"] = (sh.Item, item(0))
    e["item_negative_enum"] = (sh.Item, item(2, "neg", C.NEGATIVE))
    e["item_unknown_enum"] = (sh.Item, item(3, None, -7))
    e["item_unknown_enum_max"] = (sh.Item, item(4, "", 2147483647))
    S = ks.Sink
    e["sink_get_args"] = (S.Get_args, S.Get_args(id=42))
    e["sink_get_result_success"] = (S.Get_result, S.Get_result(success=item(1, "one")))
    e["sink_get_result_not_found"] = (S.Get_result, S.Get_result(
        not_found=sh.NotFound(message="gone", id=3)))
    e["sink_get_result_oops"] = (S.Get_result, S.Get_result(
        oops=ks.Oops(message="", code=500)))
    e["sink_add_args"] = (S.Add_args, S.Add_args(a=1, b=-2))
    e["sink_add_result"] = (S.Add_result, S.Add_result(success=3))
    e["sink_nothing_result"] = (S.Nothing_result, S.Nothing_result())
    e["sink_fire_args"] = (S.Fire_args, S.Fire_args(event="e"))
    e["sink_unary_args"] = (S.Unary_args, S.Unary_args(req=containers()))
    e["base_ping_result"] = (sh.Base.Ping_result, sh.Base.Ping_result(success="pong"))
    e["envelope_call"] = ("envelope", ("Get", 1, 7, S.Get_args, S.Get_args(id=42)))
    e["envelope_reply"] = ("envelope", ("Get", 2, -3, S.Get_result, S.Get_result(
        success=item(8, "eight", C.BLUE))))
    e["envelope_oneway"] = ("envelope", ("Fire", 4, 0, S.Fire_args,
                                         S.Fire_args(event="\u00e9v")))
    return e


def float_bits(x):
    return struct.pack(">d", x)


def diff(path, got, want, out):
    """Appends a message to `out` for every difference of got from want."""
    from thriftpy2.thrift import TPayload
    if isinstance(want, TPayload):
        if type(got) is not type(want):
            out.append("%s: expected a %s, got %r" % (path, type(want).__name__, got))
            return
        for spec in want.thrift_spec.values():
            name = spec[1]
            diff("%s.%s" % (path, name), getattr(got, name, None),
                 getattr(want, name), out)
    elif isinstance(want, (set, frozenset)):
        # thriftpy2 decodes sets as lists (pure Python) or sets (Cython).
        if not isinstance(got, (set, frozenset, list)):
            out.append("%s: expected a set, got %r" % (path, got))
            return
        items = list(got)
        if len(items) != len(set(items)):
            out.append("%s: duplicate set elements %r" % (path, items))
        if set(items) != want:
            out.append("%s: set differs: missing %r, unexpected %r"
                       % (path, want - set(items), set(items) - want))
    elif isinstance(want, dict):
        if not isinstance(got, dict):
            out.append("%s: expected a map, got %r" % (path, got))
            return
        if set(got) != set(want):
            out.append("%s: map keys differ: missing %r, unexpected %r"
                       % (path, set(want) - set(got), set(got) - set(want)))
            return
        for k in want:
            diff("%s[%r]" % (path, k), got[k], want[k], out)
    elif isinstance(want, list):
        if not isinstance(got, list):
            out.append("%s: expected a list, got %r" % (path, got))
            return
        if len(got) != len(want):
            out.append("%s: expected %d elements, got %d: %r"
                       % (path, len(want), len(got), got))
            return
        for i, (g, w) in enumerate(zip(got, want)):
            diff("%s[%d]" % (path, i), g, w, out)
    elif isinstance(want, float):
        if not isinstance(got, float) or float_bits(got) != float_bits(want):
            out.append("%s: expected double %r (bits %s), got %r%s"
                       % (path, want, float_bits(want).hex(), got,
                          " (bits %s)" % float_bits(got).hex()
                          if isinstance(got, float) else ""))
    elif want is None:
        if got is not None:
            out.append("%s: expected unset, got %r" % (path, got))
    elif isinstance(want, bool):
        if not isinstance(got, bool) or got != want:
            out.append("%s: expected bool %r, got %r" % (path, want, got))
    elif isinstance(want, int):
        if isinstance(got, bool) or not isinstance(got, int) or got != want:
            out.append("%s: expected int %r, got %r" % (path, want, got))
    elif isinstance(want, str):
        if not isinstance(got, str) or got != want:
            out.append("%s: expected string %r, got %r" % (path, want, got))
    elif isinstance(want, bytes):
        if not isinstance(got, bytes) or got != want:
            out.append("%s: expected binary %r, got %r" % (path, want, got))
    else:
        out.append("%s: no comparison for %r" % (path, want))


def decode_one(name, data, cls, want, factory):
    """Decodes `data` with one protocol factory; returns a list of problems."""
    from thriftpy2.transport import TMemoryBuffer
    problems = []
    trans = TMemoryBuffer(data)
    proto = factory.get_protocol(trans)
    try:
        if cls == "envelope":
            method, mtype, seqid, args_cls, body = want
            got_method, got_type, got_seqid = proto.read_message_begin()
            if (got_method, got_type, got_seqid) != (method, mtype, seqid):
                problems.append("message header: expected %r, got %r" % (
                    (method, mtype, seqid), (got_method, got_type, got_seqid)))
            got = args_cls()
            got.read(proto)
            proto.read_message_end()
            diff(name, got, body, problems)
        else:
            got = cls()
            got.read(proto)
            diff(name, got, want, problems)
    except Exception as exc:  # a decode error is a mismatch too
        problems.append("thriftpy2 could not decode it: %s: %s"
                        % (type(exc).__name__, exc))
    return problems


def run_decode():
    idl = Idl(raw=True)
    expectations = decode_expectations(idl)
    factories = protocol_factories()
    seen = set()
    failures = []
    for lineno, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
            name, data = row["name"], bytes.fromhex(row["hex"])
        except (ValueError, KeyError) as exc:
            fail("stdin line %d is not {\"name\", \"hex\"} JSON: %s" % (lineno, exc))
        if name not in expectations:
            failures.append("%s: no such case in decode_expectations()" % name)
            continue
        if name in seen:
            failures.append("%s: sent twice" % name)
        seen.add(name)
        cls, want = expectations[name]
        for label, factory in factories:
            for problem in decode_one(name, data, cls, want, factory):
                failures.append("%s [%s]: %s\n    bytes: %s"
                                % (name, label, problem, data.hex()))
        # The pure-Python decoder must consume exactly the Rust bytes.
        if cls != "envelope":
            from thriftpy2.protocol.binary import TBinaryProtocol
            from thriftpy2.transport import TMemoryBuffer
            trans = TMemoryBuffer(data)
            try:
                cls().read(TBinaryProtocol(trans))
                rest = trans.read(len(data))
                if rest:
                    failures.append("%s: %d trailing bytes after the struct: %s"
                                    % (name, len(rest), rest.hex()))
            except Exception:
                pass  # already reported above
    for name in sorted(set(expectations) - seen):
        failures.append("%s: the Rust side did not send this case" % name)
    if failures:
        print("thriftpy_peer: %d mismatch(es) decoding Rust-encoded values "
              "with thriftpy2:" % len(failures), file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        sys.exit(1)
    print("ok %d cases (%s)" % (len(seen), ", ".join(l for l, _ in factories)))


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("encode", "decode"):
        fail("usage: thriftpy_peer.py encode|decode")
    check_copy()
    if sys.argv[1] == "encode":
        run_encode()
    else:
        run_decode()


if __name__ == "__main__":
    main()
