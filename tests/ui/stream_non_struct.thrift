typedef list<string> Lines

service Api {
    i64 Count(1: Lines lines) (streaming.mode = "client"),
}
