"""Apache Beam wiring for curate: one composite PTransform per stage, chained by
``pipelines.pipeline.build``. The logic lives in ``curate/``; this package only moves
RecordBatches between workers, groups them where a stage needs a global view, and counts."""
