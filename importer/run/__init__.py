"""Running an import: the loop that wires read → map → validate → send → record, and progress."""
