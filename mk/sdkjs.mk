# The AWS SDK for JavaScript v3 test (tests/sdk-js): @aws-sdk/client-kinesis and
# @aws-sdk/client-dynamodb pinned by package-lock.json, run with default settings against the
# local gateway by tests/integration/local/test_sdk_js.py.
SDK_JS_DIR := tests/sdk-js
SDK_JS_STAMP := $(SDK_JS_DIR)/node_modules/.installed

.PHONY: sdk-js

$(SDK_JS_STAMP): $(SDK_JS_DIR)/package.json $(SDK_JS_DIR)/package-lock.json
	cd $(SDK_JS_DIR) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

sdk-js: $(SDK_JS_STAMP) ## Install the pinned AWS SDK for JavaScript v3 the HTTP/2 test drives

test integration: sdk-js
