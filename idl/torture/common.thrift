# `common`, the first file of that name: keeps module `common`.
struct Shared { 1: i32 id }
