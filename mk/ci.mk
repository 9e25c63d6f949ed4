# CI (GitHub Actions): the previous main run as the baseline of `make compare`.
# WORKFLOW_FILE (ci.yml, loadtest.yml) and ARTIFACT_PREFIX (the artifact's name before the run
# id) say which runs count; gh reads GH_TOKEN. A regression fails; no baseline yet does not.
WORKFLOW_FILE ?=
ARTIFACT_PREFIX ?=
BASELINE_DIR ?= .redline/baseline

.PHONY: compare-previous

compare-previous: $(STAMP) ## CI: make compare of results/latest against the previous main run's artifact (gh, GH_TOKEN)
	@test -n "$(WORKFLOW_FILE)" -a -n "$(ARTIFACT_PREFIX)" || { echo "error: set WORKFLOW_FILE (e.g. ci.yml) and ARTIFACT_PREFIX (e.g. smoke-loadtest-)" >&2; exit 2; }
	@test -f results/latest/summary.json || { echo "error: results/latest/summary.json is missing: no finished run to compare" >&2; exit 2; }
	@rm -rf "$(BASELINE_DIR)"; found=; \
	for id in $$(gh run list --workflow "$(WORKFLOW_FILE)" --branch main --status success --limit 30 --json databaseId --jq '.[].databaseId'); do \
	  [ "$$id" = "$${GITHUB_RUN_ID:-}" ] && continue; \
	  if gh run download "$$id" --name "$(ARTIFACT_PREFIX)$$id" --dir "$(BASELINE_DIR)" 2>/dev/null; then found=$$id; break; fi; \
	done; \
	if [ -z "$$found" ]; then \
	  echo "compare: no successful main run of $(WORKFLOW_FILE) has an artifact $(ARTIFACT_PREFIX)<run id> yet; nothing to compare"; \
	  [ -z "$${GITHUB_STEP_SUMMARY:-}" ] || echo "No baseline yet: no earlier successful main run to compare with." >> "$$GITHUB_STEP_SUMMARY"; \
	  exit 0; fi; \
	base=$$(dirname "$$(ls -t "$(BASELINE_DIR)"/*/summary.json | head -1)"); \
	echo "==> baseline: main run $$found ($$base)"; \
	status=0; $(PY) -m reports compare "$$base" results/latest --tolerance "$(TOLERANCE)" --fail-on-regression --output "$(BASELINE_DIR)/compare.md" || status=$$?; \
	[ -z "$${GITHUB_STEP_SUMMARY:-}" ] || { echo "### Against main run $$found"; cat "$(BASELINE_DIR)/compare.md"; } >> "$$GITHUB_STEP_SUMMARY"; \
	exit $$status
