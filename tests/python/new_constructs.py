"""thriftpy2 side of tests/codegen/thriftpy_new.rs.

`encode`: prints the hex of ESCAPED's UTF-8 bytes, then the Thrift Binary
hex of a fixed `Implicit` value. `decode`: reads Thrift Binary hex on stdin,
decodes an `Implicit` and checks it field by field (exit 1 on a mismatch).
"""
import os
import sys

import thriftpy2
from thriftpy2.protocol import TBinaryProtocolFactory
from thriftpy2.utils import deserialize, serialize

HERE = os.path.dirname(os.path.abspath(__file__))
idl = thriftpy2.load(os.path.join(HERE, "new_constructs.thrift"), module_name="new_constructs_thrift")


def main():
    mode = sys.argv[1]
    if mode == "encode":
        print(idl.ESCAPED.encode("utf-8").hex())
        value = idl.Implicit(name="n", count=7, big=9, tags=["a", "b"])
        print(serialize(value, TBinaryProtocolFactory()).hex())
    elif mode == "decode":
        data = bytes.fromhex(sys.stdin.read().strip())
        got = deserialize(idl.Implicit(), data, TBinaryProtocolFactory())
        want = idl.Implicit(name="from rust", count=-3, big=None, tags=["x"])
        if got != want:
            print("mismatch: got %r, want %r" % (got, want), file=sys.stderr)
            sys.exit(1)
        print("ok")
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
