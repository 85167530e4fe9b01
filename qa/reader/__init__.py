"""The extractive reader: a span head on the encoder that picks the answer out of the top passages,
with its training data, training loop and shipped weights."""
