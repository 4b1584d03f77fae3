# SDK worker container for running curate on Flink, Dataflow or any portable Beam runner.
# The Beam version must match the one the job is submitted with (pyproject pins 2.77).
#   docker build -t REGISTRY/curate-worker:0.1.0 .
FROM apache/beam_python3.11_sdk:2.77.0

WORKDIR /opt/curate
COPY pyproject.toml README.md ./
COPY curate ./curate
COPY pipelines ./pipelines
COPY models ./models
# models (lid.176.ftz, the quality classifier) and default configs install as package data
RUN pip install --no-cache-dir . && python -c "import curate.models as m; m.path('lid.176.ftz')"

# The Beam base image's entrypoint (/opt/apache/beam/boot) starts the SDK harness.
