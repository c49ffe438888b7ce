//! Fixed-capacity ring of fixed-width rows: the rolling window's memory, allocated once.

/// Rows of `width` values; pushing past `capacity` overwrites the oldest row.
pub struct RowRing {
    /// Values per row.
    width: usize,
    /// Rows kept.
    capacity: usize,
    /// `capacity * width` values, row-major.
    data: Vec<f32>,
    /// Row index the next push writes.
    next: usize,
    /// Rows currently held.
    len: usize,
}

impl RowRing {
    pub fn new(width: usize, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            width,
            capacity,
            data: vec![0.0; width * capacity],
            next: 0,
            len: 0,
        }
    }

    pub fn clear(&mut self) {
        self.next = 0;
        self.len = 0;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Appends a row and returns it for filling.
    pub fn push(&mut self) -> &mut [f32] {
        let start = self.next * self.width;
        self.next = (self.next + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
        &mut self.data[start..start + self.width]
    }

    /// Rows, oldest first.
    pub fn rows(&self) -> impl Iterator<Item = &[f32]> + Clone {
        let first = (self.next + self.capacity - self.len) % self.capacity;
        (0..self.len).map(move |i| {
            let row = (first + i) % self.capacity;
            &self.data[row * self.width..(row + 1) * self.width]
        })
    }

    /// One column, oldest first.
    pub fn column(&self, index: usize) -> impl Iterator<Item = f32> + Clone + '_ {
        self.rows().map(move |row| row[index])
    }
}

/// Sum with eight independent accumulators (see [`crate::matmul::dot`]).
#[inline]
pub fn sum(a: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = a.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for x in chunks {
        for i in 0..8 {
            lanes[i] += x[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}
