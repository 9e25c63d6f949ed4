# Infrastructure: Lambda packages, Terraform checks, security scans, API contract tests and
# the deploy helpers (docs/deploy.md walks through them).
.PHONY: package package-check checkov-venv checkov bandit tf-fmt api-contract plan deploy outputs destroy

TF_DIR := terraform
TERRAFORM ?= terraform
DIST := dist

# checkov pins versions that clash with ours, so it lives in its own virtualenv.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

# newman (Postman's CLI runner), pinned in tests/api/package.json + package-lock.json.
API_TESTS := tests/api
NEWMAN_STAMP := $(API_TESTS)/node_modules/.installed

TEST_EXTRAS += checkov bandit api-contract

package: $(STAMP) ## Build dist/{ingest,api,forwarder}.zip reproducibly for ENV's architecture
	$(PY) -m pipeline.packaging --environment $(ENV) --out $(DIST)

package-check: $(STAMP) ## Build the zips twice from scratch and fail unless the sha256 sums match
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PY) -m pipeline.packaging --environment $(ENV) --out "$$tmp/one" --build-dir "$$tmp/build-one" >/dev/null; \
	$(PY) -m pipeline.packaging --environment $(ENV) --out "$$tmp/two" --build-dir "$$tmp/build-two" >/dev/null; \
	if cmp -s "$$tmp/one/SHA256SUMS" "$$tmp/two/SHA256SUMS"; then \
	  echo "reproducible: two clean builds give the same zips"; cat "$$tmp/one/SHA256SUMS"; \
	else echo "error: two clean builds differ" >&2; diff "$$tmp/one/SHA256SUMS" "$$tmp/two/SHA256SUMS" >&2; exit 1; fi

$(CHECKOV_STAMP):
	@echo "==> creating $(CHECKOV_VENV) with checkov $(CHECKOV_VERSION)"
	@rm -rf $(CHECKOV_VENV)
	@$(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	@$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	@touch $@

checkov-venv: $(CHECKOV_STAMP) ## Install checkov in its own virtualenv (.venv-checkov)

# --skip-download: no policy download from the vendor's platform (these machines are offline
# but for package registries); the built-in checks are complete without it.
# Once as written, then with each AWS environment's file, so checks see the real values
# (e.g. autoscaling and route authorization as dev and prod set them).
CHECKOV_ENVIRONMENTS := $(filter-out local local-%,$(patsubst $(TF_DIR)/environments/%.tfvars.json,%,$(wildcard $(TF_DIR)/environments/*.tfvars.json)))
CHECKOV := $(CHECKOV_VENV)/bin/checkov --directory $(TF_DIR) --framework terraform --skip-download --quiet --compact

checkov: $(CHECKOV_STAMP) ## checkov on terraform/: 0 failed checks, as written and per AWS environment file (skips justified inline)
	$(CHECKOV)
	@for env in $(CHECKOV_ENVIRONMENTS); do echo "==> checkov with environments/$$env.tfvars.json"; \
	  $(CHECKOV) --var-file $(TF_DIR)/environments/$$env.tfvars.json || exit 1; done

bandit: $(STAMP) ## bandit on the Python code: fails on any medium or high finding
	$(PY) -m bandit --quiet --recursive --severity-level medium pipeline loadtests monitors reports bench

tf-fmt: ## terraform fmt -check -recursive (when terraform is on PATH)
	@command -v $(TERRAFORM) >/dev/null || { echo "terraform is not on PATH; install it (>= 1.11) to check formatting" >&2; exit 2; }
	$(TERRAFORM) -chdir=$(TF_DIR) fmt -check -recursive

$(NEWMAN_STAMP): $(API_TESTS)/package.json $(API_TESTS)/package-lock.json
	cd $(API_TESTS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Starts a local stack on free ports (or uses API_URL + AWS_ENDPOINT_URL of one you started),
# seeds three events through its Kinesis API, runs newman, stops what it started.
api-contract: $(STAMP) $(NEWMAN_STAMP) engines ## Run the Postman collection (every route, every 4xx) with newman against the local stack
	$(PY) -m tests.api.run_contract

# --- Deploy helpers: each refuses to run without ENV (not local), the environment's backend
# file, TF_STATE_BUCKET and working AWS credentials, and prints every command it runs.
define require_aws
	@if [ "$(ENV)" = "local" ]; then echo "error: set ENV to an AWS environment, e.g. make $(or $(firstword $(MAKECMDGOALS)),$@) ENV=dev (ENV=local is the local stack: make up)" >&2; exit 2; fi
	@test -f $(TF_DIR)/environments/$(ENV).tfvars.json || { echo "error: $(TF_DIR)/environments/$(ENV).tfvars.json does not exist" >&2; exit 2; }
	@test -f $(TF_DIR)/environments/$(ENV).s3.tfbackend || { echo "error: $(TF_DIR)/environments/$(ENV).s3.tfbackend does not exist (copy dev.s3.tfbackend and change the key)" >&2; exit 2; }
	@test -n "$${TF_STATE_BUCKET:-}" || { echo "error: set TF_STATE_BUCKET to the state bucket made by terraform/bootstrap (terraform -chdir=terraform/bootstrap output -raw state_bucket)" >&2; exit 2; }
	@command -v $(TERRAFORM) >/dev/null || { echo "error: terraform (>= 1.11) is not on PATH" >&2; exit 2; }
	@$(PY) -c 'import os, sys; from pipeline.config import load_environment; sys.exit(load_environment("$(ENV)").monitoring.new_relic_enabled and not os.environ.get("NEW_RELIC_API_KEY"))' \
	  || { echo "error: $(ENV) has monitoring.new_relic_enabled: export NEW_RELIC_API_KEY (a New Relic User key) for the New Relic provider" >&2; exit 2; }
	@$(PY) -c 'import boto3, sys; i = boto3.client("sts").get_caller_identity(); print("==> AWS account " + i["Account"] + " as " + i["Arn"])' 2>/dev/null \
	  || { echo "error: no working AWS credentials (configure a profile or export AWS_PROFILE / OIDC credentials)" >&2; exit 2; }
endef

TF_INIT = $(TERRAFORM) -chdir=$(TF_DIR) init -input=false -reconfigure -backend-config=environments/$(ENV).s3.tfbackend -backend-config=bucket=$${TF_STATE_BUCKET}
TF_VARS = -var-file=environments/$(ENV).tfvars.json
TF_PLAN_FILE = $(ENV).tfplan

plan: $(STAMP) ## terraform plan for ENV (needs ENV=dev|prod, TF_STATE_BUCKET, AWS credentials); writes terraform/<ENV>.tfplan
	$(require_aws)
	@echo "==> would build the zips, init the $(ENV) backend, and plan into $(TF_DIR)/$(TF_PLAN_FILE)"
	$(MAKE) --no-print-directory package ENV=$(ENV)
	$(TF_INIT)
	$(TERRAFORM) -chdir=$(TF_DIR) plan -input=false $(TF_VARS) -out=$(TF_PLAN_FILE)

deploy: plan ## Plan again (as `make plan` does) and apply that fresh plan for ENV (same requirements)
	@echo "==> applying $(TF_DIR)/$(TF_PLAN_FILE) to $(ENV)"
	$(TERRAFORM) -chdir=$(TF_DIR) apply -input=false $(TF_PLAN_FILE)
	$(TERRAFORM) -chdir=$(TF_DIR) output -json > $(TF_DIR)/$(ENV).outputs.json
	@echo "==> outputs in $(TF_DIR)/$(ENV).outputs.json; next: make loadtest TARGET=aws ENV=$(ENV) SCENARIO=smoke"

outputs: $(STAMP) ## Write terraform/<ENV>.outputs.json (terraform output -json) for TARGET=aws (same requirements as plan)
	$(require_aws)
	$(TF_INIT)
	$(TERRAFORM) -chdir=$(TF_DIR) output -json > $(TF_DIR)/$(ENV).outputs.json
	@echo "==> $(TF_DIR)/$(ENV).outputs.json"

destroy: $(STAMP) ## Tear down ENV (needs CONFIRM=<ENV> as well as what plan needs)
	@test "$(CONFIRM)" = "$(ENV)" || { echo "error: this deletes every Redline resource of $(ENV), its data included; run make destroy ENV=$(ENV) CONFIRM=$(ENV)" >&2; exit 2; }
	$(require_aws)
	@echo "==> would destroy every resource of $(ENV) (the state bucket stays)"
	$(MAKE) --no-print-directory package ENV=$(ENV)
	$(TF_INIT)
	$(TERRAFORM) -chdir=$(TF_DIR) destroy -input=false -auto-approve $(TF_VARS)
