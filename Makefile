# Sluice build, test and demo entry points. `make test` is what CI runs
# (.ci/run); it installs what is missing first (`make deps`).

SHELL   := /bin/bash
MODULES := pkg capture apply
GO      ?= go
# Per-package time limit for `go test`; the whole suite must stay well under
# the 25-minute budget on 2 cores.
TEST_TIMEOUT ?= 15m
FUZZTIME     ?= 60s

.PHONY: all deps build binaries images vet fmt-check test test-unit fuzz bench demo clean

all: build

## deps: install Debian packages and the Kafka broker jars if missing (idempotent)
deps:
	@bash scripts/deps.sh

## build: compile every module and put the capture and apply binaries in bin/
build: binaries
	@for m in $(MODULES); do (cd $$m && $(GO) build ./...) || exit 1; done

## binaries: bin/capture and bin/apply (static, no cgo)
binaries:
	@mkdir -p bin
	cd capture && CGO_ENABLED=0 $(GO) build -o ../bin/capture ./cmd/capture
	cd apply && CGO_ENABLED=0 $(GO) build -o ../bin/apply ./cmd/apply

## images: container images of capture and apply (needs a Docker engine: for
## users, not run in CI here). IMAGE_PREFIX and IMAGE_TAG name them; the
## build context is this directory (the go.work root).
IMAGE_PREFIX ?= ghcr.io/sluice-cdc
IMAGE_TAG    ?= dev
DOCKER       ?= docker
images:
	$(DOCKER) build -f capture/Dockerfile -t $(IMAGE_PREFIX)/capture:$(IMAGE_TAG) .
	$(DOCKER) build -f apply/Dockerfile -t $(IMAGE_PREFIX)/apply:$(IMAGE_TAG) .

## vet: go vet in every module
vet:
	@for m in $(MODULES); do \
		if [ -z "$$(cd $$m && $(GO) list ./... 2>/dev/null)" ]; then echo "go vet $$m: no packages yet"; continue; fi; \
		echo "go vet $$m"; (cd $$m && $(GO) vet ./...) || exit 1; done

## fmt-check: fail if any file is not gofmt-formatted
fmt-check:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## test: deps, vet, gofmt, then every test (unit, fuzz seeds, integration against real servers)
test: deps vet fmt-check
	@bash scripts/test.sh $(TEST_TIMEOUT) $(MODULES)

## test-unit: tests that need no server (servers skip locally when SLUICE_TEST_SERVERS=none)
test-unit:
	@for m in $(MODULES); do (cd $$m && SLUICE_TEST_SERVERS=none $(GO) test -count=1 ./...) || exit 1; done

## fuzz: run every fuzz target for FUZZTIME (default 60s) each
fuzz:
	@bash scripts/fuzz.sh $(FUZZTIME) $(MODULES)

## bench: benchmarks (encoding now; capture/apply throughput as they land)
bench: deps
	@for m in $(MODULES); do (cd $$m && $(GO) test -run='^$$' -bench=. -benchmem ./...) || exit 1; done

## demo: MariaDB -> capture -> Kafka (embedded; DEMO_KAFKA=real for Apache Kafka) -> apply -> MariaDB and PostgreSQL, checked row by row (DEMO_KEEP=1 leaves it running)
demo: deps binaries
	@cd pkg && $(GO) build -o ../bin/sluice-demo ./cmd/sluice-demo
	@bin/sluice-demo -capture bin/capture -apply bin/apply

clean:
	rm -rf .cache/tmp bin
