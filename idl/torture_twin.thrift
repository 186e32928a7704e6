# A second main file that shares an include with torture.thrift: build.rs
# compiles both, each into its own `<stem>.rs`.
include "torture/common.thrift"

struct Twin { 1: common.Shared shared }
