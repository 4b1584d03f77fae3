"""curate: raw web, code and book shards -> a curated, tokenized pre-training corpus."""

__version__ = "0.1.0"

import os as _os

# curate forks worker processes from the launching one (pipelines/pool.py); they use no gRPC,
# so gRPC's fork handlers only print warnings. Set before Beam imports gRPC.
_os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
