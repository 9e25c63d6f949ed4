# Replay of the ingest on-failure queue (pipeline/replay.py).
.PHONY: replay

replay: $(STAMP) ## Replay ENV's on-failure queue: re-read each failed batch from the stream, store or dead-letter every record (TARGET=local|aws)
	@$(PY) -m pipeline.replay --env $(ENV) $(if $(filter command line environment,$(origin TARGET)),--target $(TARGET))
BENCHES += bench_loss
