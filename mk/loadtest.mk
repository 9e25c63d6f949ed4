# Load tests (loadtests/): `make loadtest` finds the pipeline's redline and leaves results/<run-id>/.
.PHONY: loadtest loadtest-smoke loadtest-scenarios clean-run

SCENARIO ?= capacity
TARGET ?= local
WORKERS ?= 1
# Optional overrides (empty = the scenario's default): REMOTE_WORKERS ON_WORKER_LOSS RUNNER OVER_BUDGET BURST_SECONDS RATE READ_RATE DURATION BATCH_SIZE
# RECORD_BYTES KEY_STRATEGY HOT_KEY_SHARE MIX START_RATE GATE_P95_MS GATE_P99_MS
# GATE_ERROR_RATE GATE_MAX_LOST GATE_MIN_ACHIEVED
LOADTEST_ENV = $(if $(filter command line environment,$(origin ENV)),--env $(ENV),$(if $(filter aws,$(TARGET)),--env dev,--env local))
LOADTEST_ARGS = --scenario $(SCENARIO) --target $(TARGET) --workers $(WORKERS) $(LOADTEST_ENV) \
  $(if $(REMOTE_WORKERS),--remote-workers $(REMOTE_WORKERS)) \
  $(if $(ON_WORKER_LOSS),--on-worker-loss $(ON_WORKER_LOSS)) \
  $(if $(RUNNER),--runner $(RUNNER)) $(if $(OVER_BUDGET),--over-budget) \
  $(if $(BURST_SECONDS),--burst-seconds $(BURST_SECONDS)) \
  $(if $(RATE),--rate $(RATE)) $(if $(READ_RATE),--read-rate $(READ_RATE)) \
  $(if $(DURATION),--duration $(DURATION)) $(if $(BATCH_SIZE),--batch-size $(BATCH_SIZE)) \
  $(if $(RECORD_BYTES),--record-bytes $(RECORD_BYTES)) \
  $(if $(KEY_STRATEGY),--key-strategy $(KEY_STRATEGY)) \
  $(if $(HOT_KEY_SHARE),--hot-key-share $(HOT_KEY_SHARE)) $(if $(MIX),--mix $(MIX)) \
  $(if $(START_RATE),--start-rate $(START_RATE)) \
  $(if $(GATE_P95_MS),--gate-p95-ms $(GATE_P95_MS)) $(if $(GATE_P99_MS),--gate-p99-ms $(GATE_P99_MS)) \
  $(if $(GATE_ERROR_RATE),--gate-error-rate $(GATE_ERROR_RATE)) \
  $(if $(GATE_MAX_LOST),--gate-max-lost $(GATE_MAX_LOST)) \
  $(if $(GATE_MIN_ACHIEVED),--gate-min-achieved $(GATE_MIN_ACHIEVED)) $(YOUR_PIPELINE_ARGS) \
  $(if $(filter 1 true yes,$(UI)),--ui)
# Your pipeline and safe AWS runs (loadtests/preflight.py): HANDLER="ingest=my.mod.fn api=..."
# (TARGET=local), RECORDS=module:function, REPLAY=<file>, OUTPUTS=<your stack's names file>, YES=1, BUDGET=<USD>,
# DRY_RUN=1, PRICES=<file>; scenario knobs PROBE_RATE ZIPF_S KEY_COUNT EVENT_TYPES STEPS
# SPIKE_MULTIPLIER DRAIN_TIMEOUT (python -m loadtests run --help: unit, range, default).
YOUR_PIPELINE_ARGS = $(foreach h,$(HANDLER),--handler $(h)) $(if $(OUTPUTS),--outputs $(OUTPUTS)) \
  $(if $(YES),--yes) $(if $(BUDGET),--budget $(BUDGET)) $(if $(DRY_RUN),--dry-run) \
  $(if $(PRICES),--prices $(PRICES)) $(if $(RECORDS),--records $(RECORDS)) $(if $(REPLAY),--replay $(REPLAY)) \
  $(if $(PROBE_RATE),--probe-rate $(PROBE_RATE)) $(if $(ZIPF_S),--zipf-s $(ZIPF_S)) \
  $(if $(KEY_COUNT),--key-count $(KEY_COUNT)) $(if $(EVENT_TYPES),--event-types $(EVENT_TYPES)) \
  $(if $(STEPS),--steps $(STEPS)) $(if $(SPIKE_MULTIPLIER),--spike-multiplier $(SPIKE_MULTIPLIER)) \
  $(if $(DRAIN_TIMEOUT),--drain-timeout $(DRAIN_TIMEOUT))

loadtest: $(STAMP) engines ## Load test (SCENARIO=capacity|smoke|step|spike|soak|scaling|reshard TARGET=local|aws RATE= DURATION= WORKERS= RUNNER=local|fargate UI=1): results/latest/
	@$(PY) -m loadtests run $(LOADTEST_ARGS)

loadtest-smoke: $(STAMP) ## The CI load test: a short smoke run on a private local stack (free ports)
	@$(MAKE) --no-print-directory loadtest SCENARIO=smoke TARGET=local

loadtest-scenarios: $(STAMP) ## List the load test scenarios and their defaults
	@$(PY) -m loadtests scenarios

# `make test` ends with a real smoke load test (own stack on free ports, < 2 minutes).
TEST_EXTRAS += loadtest-smoke
BENCHES += bench_loadtests

clean-run: $(STAMP) ## Delete one TARGET=aws run's items from its table, by key (RUN=<run-id>)
	@test -n "$(RUN)" || { echo "error: name the run: make clean-run RUN=<run-id> (a folder under results/)" >&2; exit 2; }
	@$(PY) -m loadtests clean-run $(RUN)
