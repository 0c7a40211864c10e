# Janus Desktop. `make test` is the one command CI runs (through .ci/run).
GO      ?= go
# The engine and the CLI: everything that must build with CGO_ENABLED=0 on every platform.
ENGINE  := ./cmd/... ./compute/... ./internal/... ./model/...
TARGETS := linux/amd64 linux/arm64 darwin/arm64 darwin/amd64

.PHONY: test fmt vet unit kernelsets cross generated build bench metal arm64
.PHONY: run gui uitest race app dist fyne-deps fyne-tool cli

## test: format check, vet, unit + golden + fuzz-seed tests, the goldens again on the lesser CPU
## kernel sets, cross-compilation of the engine, a check that the generated assembly matches its
## generator, the Metal backend's darwin build, the compute tests as arm64 binaries under qemu,
## the desktop app's tests, and the app's and the views' tests again under the race detector.
test: fmt vet unit kernelsets cross generated metal arm64 uitest race

fmt:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## unit: every package's tests but the desktop app's (./ui and the root package), which
## uitest runs.
unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v -x -e 'github.com/janus-desktop/janus' -e 'github.com/janus-desktop/janus/ui' -e 'github.com/janus-desktop/janus/ui/.*')

## kernelsets: the model goldens (tiny-a's stages, greedy answers, generation, Q8/Q4, BF16) on
## each CPU kernel set below the best this machine has, capped with JANUS_CPU_KERNELS; unit
## runs them on the best. On arm64 the NEON set is the best and the portable Go one the other.
LESSER_KERNELS := $(if $(filter amd64,$(shell $(GO) env GOARCH)),generic avx2,generic)
kernelsets:
	@for k in $(LESSER_KERNELS); do \
		echo "JANUS_CPU_KERNELS=$$k: model goldens"; \
		JANUS_CPU_KERNELS=$$k $(GO) test -count=1 -run 'Golden|TinyA' ./model/... || exit 1; \
	done

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

## arm64: the compute and model tests on arm64 under qemu-user (whose default CPU has SDOT):
## the portable kernels must give the bits they give on amd64 (Go fuses multiply-adds on
## arm64 unless the code rounds explicitly), the NEON kernels their documented order, and
## the tiny-a goldens must hold on NEON and on the portable kernels; then the portable build
## (purego) of compute/cpu, and the int8 kernels without SDOT (a Cortex-A72).
arm64:
	GOARCH=arm64 $(GO) test -count=1 -exec qemu-aarch64-static ./compute/... ./model/...
	JANUS_CPU_KERNELS=generic GOARCH=arm64 $(GO) test -count=1 -exec qemu-aarch64-static -run 'Golden|TinyA' ./model/...
	GOARCH=arm64 $(GO) test -count=1 -tags purego -exec qemu-aarch64-static ./compute/cpu/
	QEMU_CPU=cortex-a72 GOARCH=arm64 $(GO) test -count=1 -exec qemu-aarch64-static -run 'NEON|Int8|Conformance' ./compute/cpu/

## build: the janus CLI for this machine, into ./bin.
build:
	CGO_ENABLED=0 $(GO) build -o bin/janus ./cmd/janus

## cli: the janus CLI without cgo for every release target, as dist/janus-OS-ARCH.
cli:
	@mkdir -p dist
	@for t in $(TARGETS); do \
		echo "dist/janus-$${t%/*}-$${t#*/}"; \
		GOOS=$${t%/*} GOARCH=$${t#*/} CGO_ENABLED=0 $(GO) build -trimpath -o dist/janus-$${t%/*}-$${t#*/} ./cmd/janus || exit 1; \
	done

## bench: the engine's Go benchmarks (numbers are noisy on shared machines: compare ratios).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The desktop app (main.go at the root, package ui). Fyne needs cgo and, on Linux, these
# Debian packages; the smoke test also needs an X server and screenshots.
FYNE_APT  := gcc libgl1-mesa-dev xorg-dev
FYNE      ?= $(shell $(GO) env GOPATH)/bin/fyne
FYNE_TOOL := fyne.io/tools/cmd/fyne@v1.7.4

## fyne-deps: on Debian/Ubuntu, install Fyne's build packages when missing (as root), or say how.
fyne-deps:
	@if [ "$$(uname)" = Linux ] && { ! command -v gcc >/dev/null || ! pkg-config --exists gl x11 xcursor xrandr xinerama xi xxf86vm 2>/dev/null; }; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(FYNE_APT) pkg-config; \
		else \
			echo "The desktop app needs: sudo apt-get install $(FYNE_APT) pkg-config"; exit 1; \
		fi; \
	fi

## run: start the desktop app.
run: fyne-deps
	CGO_ENABLED=1 $(GO) run .

## gui: build the desktop app for this machine (./janus-desktop).
gui: fyne-deps
	CGO_ENABLED=1 $(GO) build -o janus-desktop .

## uitest: the views' tests (no cgo, no X server), then the real app under Xvfb (skips
## with a message without Xvfb, xdotool, ImageMagick or a C compiler).
uitest:
	CGO_ENABLED=0 $(GO) test -count=1 ./ui/...
	JANUS_SMOKE=1 CGO_ENABLED=1 $(GO) test -count=1 -run TestSmokeUnderXvfb -v .

## race: the packages where goroutines meet the user's data and the window (chats, jobs, the
## history store, downloads, the API server, the views) under the race detector; the
## engine's kernels are left out (their tests would take many times as long under it).
race:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./app/... ./ui

fyne-tool:
	@test -x $(FYNE) || $(GO) install $(FYNE_TOOL)

## app: the macOS app bundle (needs a Mac: fyne package uses the macOS SDK), signed ad hoc so
## that it runs on the Mac that built it. fyne package (v1.7.4) has no FyneApp.toml field for
## the minimum macOS and writes 10.11; Go 1.26 binaries need macOS 12, so Info.plist says so.
APP_BUNDLE := Janus Desktop.app
MACOS_MIN  := 12.0
app:
	@if [ "$$(uname)" != Darwin ]; then \
		echo "make app builds Janus Desktop.app with fyne package -os darwin and needs a Mac (the macOS SDK); use make dist here."; \
		exit 1; \
	fi
	@$(MAKE) --no-print-directory fyne-tool
	@# fyne package counts builds in FyneApp.toml; the committed file stays as it is.
	cp FyneApp.toml FyneApp.toml.orig; \
	$(FYNE) package -os darwin --release; status=$$?; \
	mv FyneApp.toml.orig FyneApp.toml; exit $$status
	plutil -replace LSMinimumSystemVersion -string $(MACOS_MIN) "$(APP_BUNDLE)/Contents/Info.plist"
	@# macOS asks before an app reads these folders, showing the app's reason: people drop and
	@# save images there. fyne's Info.plist has no field for them.
	plutil -replace NSDesktopFolderUsageDescription -string "Janus Desktop opens the images you drop or choose on the Desktop and saves the images you generate there." "$(APP_BUNDLE)/Contents/Info.plist"
	plutil -replace NSDocumentsFolderUsageDescription -string "Janus Desktop opens the images you drop or choose in Documents and saves the images you generate there." "$(APP_BUNDLE)/Contents/Info.plist"
	plutil -replace NSDownloadsFolderUsageDescription -string "Janus Desktop opens the images you drop or choose in Downloads and saves the images you generate there." "$(APP_BUNDLE)/Contents/Info.plist"
	codesign --force --deep --sign - "$(APP_BUNDLE)"
	codesign --verify --strict "$(APP_BUNDLE)"

## dist: the Linux package (the janus-desktop binary, a .desktop file, the icon and an install
## Makefile) as dist/janus-desktop-linux-ARCH.tar.xz. fyne package (v1.7.4) names the binary
## in that Makefile by the .desktop file's Exec line, which [CanOpen] ends with " %F", so its
## install looked for "janus-desktop %F": the name is mended in the archive.
dist: fyne-deps fyne-tool
	cp FyneApp.toml FyneApp.toml.orig; \
	$(FYNE) build --release -o janus-desktop && $(FYNE) package -os linux --release --exe janus-desktop; \
	status=$$?; mv FyneApp.toml.orig FyneApp.toml; exit $$status
	rm -rf dist/pkg && mkdir -p dist/pkg
	tar -xJf "Janus Desktop.tar.xz" -C dist/pkg && rm "Janus Desktop.tar.xz"
	sed -i 's/^Exec := "\([^" ]*\) %F"$$/Exec := "\1"/' dist/pkg/janus-desktop/Makefile
	grep -q '^Exec := "janus-desktop"$$' dist/pkg/janus-desktop/Makefile
	tar -cJf dist/janus-desktop-linux-$$($(GO) env GOARCH).tar.xz -C dist/pkg janus-desktop
	rm -rf dist/pkg
	@ls -l dist/
