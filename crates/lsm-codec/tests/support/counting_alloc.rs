//! A global allocator that forwards to `System` and records the largest allocation made
//! while tracking is on (see UNSAFE.md). Included with `#[path]` by the test binaries
//! that bound what decoding damaged input may allocate; each such binary holds one test,
//! since the allocator counts every thread of the process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct CountingAllocator;

static TRACKING: AtomicBool = AtomicBool::new(false);
static LARGEST_ALLOCATION: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to `System` with the caller's arguments unchanged; the
// wrapper only records sizes in atomics, which never allocate.
#[allow(unsafe_code, reason = "a counting global allocator; see UNSAFE.md")]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if TRACKING.load(Ordering::Relaxed) {
            LARGEST_ALLOCATION.fetch_max(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: same contract as this function's caller upholds.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if TRACKING.load(Ordering::Relaxed) {
            LARGEST_ALLOCATION.fetch_max(new_size, Ordering::Relaxed);
        }
        // SAFETY: same contract as this function's caller upholds.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs `work` and returns what it returned with the largest single allocation it made.
pub fn largest_allocation<R>(work: impl FnOnce() -> R) -> (R, usize) {
    LARGEST_ALLOCATION.store(0, Ordering::Relaxed);
    TRACKING.store(true, Ordering::Relaxed);
    let result = work();
    TRACKING.store(false, Ordering::Relaxed);
    (result, LARGEST_ALLOCATION.load(Ordering::Relaxed))
}
