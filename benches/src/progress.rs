//! A progress bar on stderr while a workload runs: the engine, the workload, a bar and
//! the operations done so far. Drawn only when stderr is a terminal, at most ten times a
//! second; loops call [`Progress::tick`] every operation and it looks at the clock only
//! every [`TICK_STRIDE`] calls.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Calls of [`Progress::tick`] between looks at the clock.
const TICK_STRIDE: u64 = 4096;
const REDRAW: Duration = Duration::from_millis(100);
const BAR_CELLS: u64 = 30;

/// One workload's progress.
pub struct Progress {
    label: String,
    total: u64,
    done: u64,
    drawn_at: Instant,
    visible: bool,
}

impl Progress {
    /// A bar for `total` operations of `label`.
    pub fn new(label: String, total: u64) -> Self {
        let visible = std::io::stderr().is_terminal();
        let mut progress = Self {
            label,
            total: total.max(1),
            done: 0,
            drawn_at: Instant::now(),
            visible,
        };
        progress.draw();
        progress
    }

    /// One more operation done.
    #[inline]
    pub fn tick(&mut self) {
        self.done += 1;
        if self.done.is_multiple_of(TICK_STRIDE) && self.drawn_at.elapsed() >= REDRAW {
            self.draw();
        }
    }

    /// `count` more operations done.
    pub fn tick_by(&mut self, count: u64) {
        self.done += count;
        if self.drawn_at.elapsed() >= REDRAW {
            self.draw();
        }
    }

    /// Clears the bar.
    pub fn finish(self) {
        if self.visible {
            let mut stderr = std::io::stderr();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
        }
    }

    fn draw(&mut self) {
        self.drawn_at = Instant::now();
        if !self.visible {
            return;
        }
        let done = self.done.min(self.total);
        let cells = done * BAR_CELLS / self.total;
        let bar: String = (0..BAR_CELLS)
            .map(|cell| if cell < cells { '#' } else { '.' })
            .collect();
        let mut stderr = std::io::stderr();
        let _ = write!(
            stderr,
            "\r\x1b[2K{:<36} [{bar}] {:>3}% {done}/{}",
            self.label,
            done * 100 / self.total,
            self.total
        );
        let _ = stderr.flush();
    }
}
