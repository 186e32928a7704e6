struct Msg {
    1: string text,
}

service Api {
    Msg Chat(1: Msg m) (streaming.mode = "bidi"),
}
