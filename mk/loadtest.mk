# Load tests (loadtests/): `make loadtest` finds the pipeline's redline and leaves results/<run-id>/.
.PHONY: loadtest loadtest-smoke loadtest-scenarios

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
  $(if $(GATE_MIN_ACHIEVED),--gate-min-achieved $(GATE_MIN_ACHIEVED))

loadtest: $(STAMP) engines ## Load test (SCENARIO=capacity|smoke|step|spike|soak TARGET=local|aws RATE= DURATION= WORKERS= RUNNER=local|fargate): results/latest/
	@$(PY) -m loadtests run $(LOADTEST_ARGS)

loadtest-smoke: $(STAMP) ## The CI load test: a short smoke run on a private local stack (free ports)
	@$(MAKE) --no-print-directory loadtest SCENARIO=smoke TARGET=local

loadtest-scenarios: $(STAMP) ## List the load test scenarios and their defaults
	@$(PY) -m loadtests scenarios

# `make test` ends with a real smoke load test (own stack on free ports, < 2 minutes).
TEST_EXTRAS += loadtest-smoke
BENCHES += bench_loadtests
