"""curate: raw web, code and book shards -> a curated, tokenized pre-training corpus."""

__version__ = "0.1.0"
