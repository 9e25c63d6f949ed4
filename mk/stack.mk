# The local stack (pipeline/local/stack.py): AWS endpoint + Lambda runtime on 127.0.0.1.
.PHONY: up down status logs

up: $(STAMP) engines ## Start the local stack in the background (ENV=local, HANDLER="ingest=my.mod.fn"): AWS endpoint, Lambdas, HTTP API
	@$(PY) -m pipeline.local up --env $(ENV) $(foreach h,$(HANDLER),--handler $(h))

down: $(STAMP) ## Stop exactly the processes `make up` started and clear their state
	@$(PY) -m pipeline.local down

status: $(STAMP) ## Show what the local stack runs, its endpoints and its counters
	@$(PY) -m pipeline.local status

logs: $(STAMP) ## Print the last lines of the local stack's logs (gateway, runtime, each function)
	@$(PY) -m pipeline.local logs

BENCHES += bench_runtime
bench: engines
