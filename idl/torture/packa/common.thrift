# `common` again, in another folder: module `packa_common`.
struct Other { 1: string name }
