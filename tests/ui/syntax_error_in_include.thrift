include "broken.thrift"

struct Msg {
    // Not reported again: `broken.thrift` has a syntax error.
    1: broken.Thing thing,
}
