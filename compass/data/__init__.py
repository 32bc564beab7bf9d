"""Data: the built-in corpus generator, curation, tokenised shards and the training data loader."""
