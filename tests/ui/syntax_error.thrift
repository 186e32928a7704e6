// A field id without its `:`.
struct Msg {
    1: string text,
    2 i32 count,
}
