# Capacity-planning reports (reports/): build, compare, and the browser the HTML test drives.
RUN ?= results/latest
TARGET_RATE ?=
UTILIZATION ?=
TOLERANCE ?= 0.10
CHROMIUM ?= /usr/bin/chromium

BENCHES += bench_report

.PHONY: report compare browser

report: $(STAMP) ## Build the capacity report of a run: make report RUN=results/<id> [TARGET_RATE=records/s]
	$(PY) -m reports build "$(RUN)" $(if $(TARGET_RATE),--target-rate "$(TARGET_RATE)") $(if $(UTILIZATION),--utilization "$(UTILIZATION)")

compare: $(STAMP) ## Compare two runs: make compare A=results/<a> B=results/<b> [TOLERANCE=0.10] [FAIL_ON_REGRESSION=1] (on in CI)
	@test -n "$(A)" -a -n "$(B)" || { echo "error: give both runs: make compare A=results/<a> B=results/<b>" >&2; exit 2; }
	$(PY) -m reports compare "$(A)" "$(B)" --tolerance "$(TOLERANCE)" $(if $(filter 1 true,$(FAIL_ON_REGRESSION) $(CI)),--fail-on-regression)

browser: ## Install Debian's chromium (apt-get) when missing: the report's HTML test opens it headless
	@if [ -x "$(CHROMIUM)" ]; then echo "chromium: $(CHROMIUM) ($$($(CHROMIUM) --version 2>/dev/null))"; \
	else echo "==> installing chromium (apt-get)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	  $(CHROMIUM) --version; fi

test integration: browser
