# SDK worker container for running curate on Flink, Dataflow or any portable Beam runner.
# The Beam version must match the one the job is submitted with (pyproject pins 2.77).
#   docker build -t REGISTRY/curate-worker:0.1.0 .
FROM apache/beam_python3.11_sdk:2.77.0

WORKDIR /opt/curate
COPY pyproject.toml README.md ./
COPY curate ./curate
COPY pipelines ./pipelines
COPY models ./models
# models (lid.176.ftz, the quality classifier) and default configs install as package data.
# The second command compiles the numba kernels (MinHash, filter statistics) into numba's
# on-disk cache in the image, so workers do not each spend seconds compiling them.
RUN pip install --no-cache-dir . && python -c "import curate.models as m; m.path('lid.176.ftz')" \
 && python -c "import pyarrow as pa; from curate.stages.dedup.minhash import signatures as s; from curate.stages.filters import Filter; \
[s(pa.array(['a b c d e f']), scheme=x) for x in ('affine32', 'affine64', 'legacy')]; Filter({}).setup()"

# The Beam base image's entrypoint (/opt/apache/beam/boot) starts the SDK harness.
