struct Msg {
    1: string text,
    2: i32 count,
    3: string text,
}
