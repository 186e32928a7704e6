// Types shared by several IDL files: proves `include` and qualified names.
namespace go shared
namespace rs shared

/** A color, with implicit and explicit values. */
enum Color {
    RED,            // 0
    GREEN = 5,
    BLUE,           // 6
    NEGATIVE = -3,
}

struct Item {
    1: required i64 id,
    2: optional string label,
    3: Color color = Color.GREEN,
}

exception NotFound {
    1: string message,
    2: i64 id,
}

service Base {
    string Ping(),
}
