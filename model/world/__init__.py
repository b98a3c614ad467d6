"""One replicate, day by day: workers, factories, the two states' agencies and the border (no file I/O)."""
