"""Judgement: what a question asks for, whether a span is of that kind, and whether to answer at all."""
