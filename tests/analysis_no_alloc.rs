//! The plugin's analysis thread calls `push_interleaved` continuously: after the first window it
//! must not touch the heap. A counting global allocator checks that.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use moodscape::analysis::Analyzer;

struct CountingAllocator;

thread_local! {
    /// Allocations made by this thread while counting is on.
    static ALLOCATIONS: Cell<Option<usize>> = const { Cell::new(None) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get().map(|n| n + 1)));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get().map(|n| n + 1)));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn steady_state_push_does_not_allocate() {
    for (rate, channels) in [
        (48_000.0, 2usize),
        (44_100.0, 2),
        (22_050.0, 1),
        (44_099.0, 1),
    ] {
        let mut analyzer = Analyzer::new(rate, channels, Default::default());
        // Music-like input: a tone with clicks, so every code path (voiced YIN, onsets) runs.
        let block: Vec<f32> = (0..480 * channels)
            .map(|i| {
                let n = (i / channels) as f32;
                0.3 * (n * 0.0577).sin() + if i % 9_600 < 40 { 0.5 } else { 0.0 }
            })
            .collect();
        let mut summaries = 0;
        // Fill the whole 10 s window first.
        for _ in 0..(12.0 * rate / 480.0) as usize {
            analyzer.push_interleaved(&block, |_| summaries += 1);
        }
        ALLOCATIONS.with(|a| a.set(Some(0)));
        for _ in 0..(5.0 * rate / 480.0) as usize {
            analyzer.push_interleaved(&block, |s| {
                summaries += 1;
                assert!(s.values.iter().all(|v| v.is_finite()));
            });
        }
        let allocations = ALLOCATIONS.with(|a| a.replace(None)).unwrap();
        assert_eq!(
            allocations, 0,
            "{rate} Hz x{channels}: allocated {allocations} times"
        );
        assert!(summaries >= 33);
    }
}
