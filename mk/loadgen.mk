# The load-generator image (Dockerfile) for RUNNER=fargate (terraform/modules/loadgen).
.PHONY: loadgen-image

LOADGEN_IMAGE ?= redline-loadgen:latest

loadgen-image: ## Build the load-generator image (Docker needed): LOADGEN_IMAGE=<repo:tag>
	$(if $(shell docker info >/dev/null 2>&1 && echo up),,$(error make loadgen-image needs a running Docker engine and none is reachable here: build where Docker runs, push to ECR, set loadgen.image))
	docker build --tag $(LOADGEN_IMAGE) .
BENCHES += bench_distributed
