//! VA-conditioned landscape generation (and the image VA labeller that trains it).
