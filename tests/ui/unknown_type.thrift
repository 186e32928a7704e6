struct Msg {
    1: string text,
    2: Strng other,
}
