"""The encoder: the sentence-transformers model (the default rebuilt offline from PyPI packages) that turns
questions and passages into unit vectors."""
