"""Search: ranks an index's passages for a question (dense, BM25, hybrid), marks the answering sentence
and abstains when no passage supports an answer."""
