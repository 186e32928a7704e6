// Included from a subdirectory by syntax_coverage.thrift: a base service,
// an enum and constants used across the include.
namespace * legacy.base
namespace rs legacy_base

cpp_include "<unordered_map>"

enum Level {
  LOW = 1,
  HIGH,          # implicit: 2
  TOP = 10 (note = "on an enum value");
} (on_enum = "yes")

const i32 BASE_LIMIT = 7;
const Level DEFAULT_LEVEL = Level.HIGH

/** A base service, extended across the include. */
service Pinger {
  oneway void fire(1: i32 n),
  void ping() (on_function = "1")
} (on_service = "x")
