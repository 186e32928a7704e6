struct Msg {
    1: string text,
}

exception Oops {
    1: string why,
}

service Api {
    Msg Send(1: Msg m) throws Oops,
}
