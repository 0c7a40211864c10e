# Janus Desktop. `make test` is the one command CI runs (through .ci/run).
GO      ?= go
# The engine and the CLI: everything that must build with CGO_ENABLED=0 on every platform.
ENGINE  := ./cmd/... ./compute/... ./internal/... ./model/...
TARGETS := linux/amd64 linux/arm64 darwin/arm64 darwin/amd64

.PHONY: test fmt vet unit cross generated build bench metal arm64

## test: format check, vet, unit + golden + fuzz-seed tests, cross-compilation of the engine,
## and a check that the generated assembly matches its generator.
test: fmt vet unit cross generated metal arm64

fmt:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

## cross: the engine and the CLI build without cgo for every release target; vet for darwin.
cross:
	@for t in $(TARGETS); do \
		echo "build $$t (CGO_ENABLED=0)"; \
		GOOS=$${t%/*} GOARCH=$${t#*/} CGO_ENABLED=0 $(GO) build $(ENGINE) || exit 1; \
	done
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) vet $(ENGINE)

## generated: the amd64 kernels (compute/cpu/kernels_amd64.s and its stubs) are what the avo
## generator in compute/cpu/internal/asmgen writes.
generated:
	$(GO) generate ./compute/cpu/
	git diff --exit-code -- compute/cpu/kernels_amd64.s compute/cpu/kernels_amd64_stubs.go

## metal: the Metal backend and the CLI build and vet without cgo for darwin, the only compile
## check its Mac-only code gets here; its Linux tests (the simulated device, the sanitizers,
## the strict address-space pass, every golden on metal-sim) run in unit.
metal:
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) build ./metal/... ./model/... ./cmd/janus
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) vet ./metal/... ./cmd/janus
	GOOS=darwin GOARCH=amd64 CGO_ENABLED=0 $(GO) vet ./metal/...

## arm64: the compute tests on arm64 under qemu-user: the portable kernels must give the bits
## they give on amd64 (Go fuses multiply-adds on arm64 unless the code rounds explicitly).
arm64:
	GOARCH=arm64 $(GO) test -count=1 -exec qemu-aarch64-static ./compute/...

## build: the janus CLI for this machine, into ./bin.
build:
	CGO_ENABLED=0 $(GO) build -o bin/janus ./cmd/janus

## bench: the engine's Go benchmarks (numbers are noisy on shared machines: compare ratios).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
