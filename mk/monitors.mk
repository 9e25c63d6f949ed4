# Monitors: the New Relic forwarder's checks, the dashboard / alerts / service levels as code.
.PHONY: dashboards monitors-check checkov-newrelic

TEST_EXTRAS += monitors-check
BENCHES += bench_forwarder

dashboards: $(STAMP) ## Regenerate the dashboard JSON (UI import) and terraform/modules/newrelic's templates
	$(PY) -m monitors.definitions render

monitors-check: $(STAMP) ## Fail if the generated dashboard/alert files are stale or a NRQL query names an unknown metric
	$(PY) -m monitors.definitions check

# checkov's own virtualenv (checkov-venv, CHECKOV_VENV) comes from mk/infra.mk; its `checkov`
# target scans all of terraform/, this module included. This one is the module alone.
checkov-newrelic: checkov-venv ## checkov on terraform/modules/newrelic only
	$(CHECKOV_VENV)/bin/checkov --directory terraform/modules/newrelic --framework terraform --skip-download --quiet --compact
