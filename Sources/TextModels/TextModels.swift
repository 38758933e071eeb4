// TextModels: native sentence embeddings for Curator.
//
// Entry point: `SentenceEncoder` (loads a Hugging Face / sentence-transformers model folder,
// tokenizes with `WordPieceTokenizer`, runs `BertModel` with Linear's packed matrix products and
// kernels). Model folder handling and its errors: `ModelFiles`, `TextModelError`. Weights:
// `SafetensorsFile`.
