//! What every fuzz loop shares: its input count and seed, a per-input time
//! limit, panic capture with a replayable report, and a counting global
//! allocator for per-input allocation bounds.
//!
//! One file, compiled into each test binary that fuzzes (`#[path]` from the
//! runtime's unit tests and from `tests/codegen`, `mod fuzz_support;` from
//! the runtime's integration tests), so the knobs mean the same everywhere:
//!
//! * `TONIC_THRIFT_FUZZ_CASES=N`: inputs per target (long mode, e.g.
//!   `1000000`); unset, each target runs its CI count (at least 10^4);
//! * `TONIC_THRIFT_FUZZ_SEED=S` (decimal or `0x` hex): the seed of every
//!   target; unset, each target's fixed seed.
//!
//! A failure names the target, the seed, the count and the input (hex), so
//! it can be replayed with the same two variables.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;

/// The environment variable that sets the inputs per target.
pub(crate) const CASES_VAR: &str = "TONIC_THRIFT_FUZZ_CASES";
/// The environment variable that sets the seed.
pub(crate) const SEED_VAR: &str = "TONIC_THRIFT_FUZZ_SEED";
/// The least CI-mode count of a target.
pub(crate) const MIN_CI_CASES: usize = 10_000;
/// The longest one input may take to process, debug build included.
pub(crate) const TIME_LIMIT: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------
// A global allocator that tracks, per thread, the bytes live and the peak.

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc(size: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + size;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn note_dealloc(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(size)));
}

// SAFETY: forwards every call to the system allocator with the same
// arguments; it only adds bookkeeping in const-initialised thread-locals,
// which never allocate (and `try_with` does nothing during thread teardown).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_dealloc(layout.size());
        System.dealloc(ptr, layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_dealloc(layout.size());
        note_alloc(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns its result with the peak number of bytes this
/// thread had allocated above its starting point while it ran.
pub(crate) fn peak_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get).saturating_sub(base))
}

// ---------------------------------------------------------------------------
// The knobs

fn env_number(var: &str) -> Option<u64> {
    let v = std::env::var(var).ok()?;
    let v = v.trim().replace('_', "");
    let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    match parsed {
        Ok(n) => Some(n),
        Err(_) => panic!("{var}={v:?} is not a number"),
    }
}

/// The number of inputs a target runs: `TONIC_THRIFT_FUZZ_CASES`, else
/// `ci_cases` (at least [`MIN_CI_CASES`]).
pub(crate) fn cases(ci_cases: usize) -> usize {
    match env_number(CASES_VAR) {
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        None => ci_cases.max(MIN_CI_CASES),
    }
}

/// The seed of a target: `TONIC_THRIFT_FUZZ_SEED`, else `default`.
pub(crate) fn seed(default: u64) -> u64 {
    env_number(SEED_VAR).unwrap_or(default)
}

/// Lowercase hex of `b`, cut after 4 KiB of input.
pub(crate) fn to_hex(b: &[u8]) -> String {
    const MAX: usize = 4096;
    let mut s: String = b.iter().take(MAX).map(|b| format!("{b:02x}")).collect();
    if b.len() > MAX {
        s.push_str(&format!("… ({} bytes in all)", b.len()));
    }
    s
}

/// One fuzz target's run: its rng, count, and checks per input.
pub(crate) struct Fuzz {
    name: &'static str,
    /// Inputs to run.
    pub(crate) cases: usize,
    seed: u64,
    started: Instant,
    slowest: Duration,
    inputs: usize,
}

impl Fuzz {
    /// A run of target `name`: `ci_cases` inputs from `default_seed`, unless
    /// the environment says otherwise.
    pub(crate) fn new(name: &'static str, ci_cases: usize, default_seed: u64) -> Fuzz {
        let seed = seed(default_seed);
        Fuzz {
            name,
            cases: cases(ci_cases),
            seed,
            started: Instant::now(),
            slowest: Duration::ZERO,
            inputs: 0,
        }
    }

    /// The run's random source (each call starts it afresh from the seed).
    pub(crate) fn rng(&self) -> StdRng {
        StdRng::seed_from_u64(self.seed)
    }

    /// How to replay this run.
    pub(crate) fn replay(&self) -> String {
        format!(
            "fuzz target `{}`, input {} checked of {} cases; replay with {SEED_VAR}={:#x} {CASES_VAR}={}",
            self.name, self.inputs, self.cases, self.seed, self.cases
        )
    }

    /// Fails the run on `input` because of `why`.
    #[track_caller]
    pub(crate) fn fail(&self, input: &[u8], why: impl Display) -> ! {
        panic!(
            "{why}\n{}\ninput ({} bytes): {}",
            self.replay(),
            input.len(),
            to_hex(input)
        )
    }

    /// Runs `f` on one input: a panic, a run longer than [`TIME_LIMIT`] or
    /// (with `max_alloc`) a peak allocation above it fails the run, naming
    /// the input.
    #[track_caller]
    pub(crate) fn check<T>(
        &mut self,
        input: &[u8],
        max_alloc: Option<usize>,
        f: impl FnOnce() -> T,
    ) -> T {
        self.inputs += 1;
        let start = Instant::now();
        let (out, peak) = peak_alloc(|| catch_unwind(AssertUnwindSafe(f)));
        let took = start.elapsed();
        let out = match out {
            Ok(out) => out,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                self.fail(input, format!("panicked: {msg}"))
            }
        };
        if took > TIME_LIMIT {
            self.fail(
                input,
                format!("took {took:?}, over the {TIME_LIMIT:?} limit"),
            );
        }
        if let Some(max) = max_alloc {
            if peak > max {
                self.fail(input, format!("allocated {peak} bytes at peak, over {max}"));
            }
        }
        self.slowest = self.slowest.max(took);
        out
    }

    /// Prints what the run did; call at the end.
    pub(crate) fn finish(&self) {
        println!(
            "fuzz `{}`: {} cases ({} inputs checked), seed {:#x}, {:?}, slowest input {:?}",
            self.name,
            self.cases,
            self.inputs,
            self.seed,
            self.started.elapsed(),
            self.slowest
        );
    }
}

// ---------------------------------------------------------------------------
// Structure-aware mutation

/// Values a length or count field may be made to lie with.
pub(crate) const HOSTILE_U32: &[u32] = &[
    0,
    1,
    2,
    4,
    5,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xffff,
    0x1_0000,
    0x00ff_ffff,
    0x0100_0000,
    0x0100_0001,
    0x4000_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
];

/// Applies 1 to 4 random edits to `bytes`: flip a bit, set a byte (at
/// random or to 0/0x7f/0x80/0xff), insert random bytes, delete or
/// duplicate a run, overwrite a big-endian u16 or u32 with a hostile
/// length, splice in the tail of `other`, or truncate.
pub(crate) fn mutate(rng: &mut StdRng, bytes: &mut Vec<u8>, other: &[u8]) {
    use rand::Rng;
    for _ in 0..rng.random_range(1..=4) {
        let len = bytes.len();
        match rng.random_range(0..11) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                bytes[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                bytes[i] = rng.random();
            }
            2 if len > 0 => {
                let i = rng.random_range(0..len);
                bytes[i] = [0, 0x7f, 0x80, 0xff][rng.random_range(0..4)];
            }
            3 => {
                let at = rng.random_range(0..=len);
                let n = rng.random_range(1..=8);
                let extra: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                bytes.splice(at..at, extra);
            }
            4 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len.min(a + 16));
                bytes.drain(a..b);
            }
            5 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len.min(a + 32));
                let run = bytes[a..b].to_vec();
                let at = rng.random_range(0..=len);
                bytes.splice(at..at, run);
            }
            6 | 7 if len >= 4 => {
                let i = rng.random_range(0..=len - 4);
                let v = HOSTILE_U32[rng.random_range(0..HOSTILE_U32.len())];
                bytes[i..i + 4].copy_from_slice(&v.to_be_bytes());
            }
            8 if len >= 2 => {
                let i = rng.random_range(0..=len - 2);
                let v = [0u16, 1, 0xff, 0x100, 0x7fff, 0x8000, 0xffff][rng.random_range(0..7)];
                bytes[i..i + 2].copy_from_slice(&v.to_be_bytes());
            }
            9 => {
                let i = rng.random_range(0..=len);
                let j = rng.random_range(0..=other.len());
                bytes.truncate(i);
                bytes.extend_from_slice(&other[j..]);
            }
            _ => {
                let i = rng.random_range(0..=len);
                bytes.truncate(i);
            }
        }
    }
}
