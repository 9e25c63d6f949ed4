# The pipeline's Lambdas (pipeline/ingest, pipeline/api): test events and the hot-path bench.
BENCHES += ingest_hot_path bench_conditional_writes

.PHONY: events

events: $(STAMP) ## Regenerate the committed test events in tests/events/ from their builders
	$(PY) -m tests.events.generate
