include "shared.thrift"
include "nope.thrift"

struct Msg {
    1: shared.Item item,
    // Not reported again: `nope` is the include that is missing.
    2: nope.Thing thing,
}
