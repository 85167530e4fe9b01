"""The index: building it from documents (embedding, BM25 by language, the English-Chinese bridge,
FAISS flat/HNSW/IVF-PQ, Ray workers) and storing it on disk as atomically published generations."""
