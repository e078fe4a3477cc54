# LAVA in Rust: developer entry points. `make help` lists them.
#
# One shared target dir, and `cargo test -p CRATE` while iterating: the machine has 2 cores.

CARGO ?= cargo
LAB ?= $(CURDIR)/.lava
BIN := $(CURDIR)/target/debug
# The long history the history bench measures pages and REST filters against.
BENCH_HISTORY_JOBS ?= 1000000

.PHONY: help deps build run lab-stop test check fmt clippy test-image test-kvm-image test-lava-dump bench bench-figures deb install-test fuzz api-doc

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

build: ## build every binary (debug)
	$(CARGO) build --workspace --bins

deps: ## install the Debian packages of tools/debian-packages that are missing (as root; else print the command)
	@sh tools/ensure-packages

run: deps build ## the whole lab in ./.lava: PostgreSQL, web app, scheduler, worker, example jobs run; Ctrl-C stops it
	@LAB="$(LAB)" BIN="$(BIN)" EXAMPLES="$(CURDIR)/examples" sh tools/run-lab

lab-stop: ## stop the private lab's PostgreSQL (its data stays in ./.lava)
	@$(BIN)/lava-lab pg-stop "$(LAB)"

test: deps ## the whole test suite (a private PostgreSQL is started by the tests themselves)
	$(CARGO) test --workspace

test-image: ## the small kvm test image (kernel + busybox initramfs) in target/lava-images
	sh share/create-kvm-image --output target/lava-images

test-kvm-image: ## slow: build a full Debian 12 kvm disk image from the mirror and boot it as a kvm job
	$(CARGO) test -p lava-dispatcher --test kvm_full_image -- --ignored --nocapture

# Not part of `make test`: it downloads a few hundred MB (Debian's lava-server and PostgreSQL).
LAVA_DUMP_DIR ?= $(CURDIR)/target/lava-2023-dump

test-lava-dump: ## slow: a real LAVA 2023.01 lab made in a Debian 12 chroot (as root), dumped, and imported twice by import-lava
	$(CARGO) build -p lava-server --bin lava-server -p lava-testkit --bin lava-lab
	sh tools/lava-2023-dump "$(LAVA_DUMP_DIR)"
	BIN="$(BIN)" sh tools/lava-2023-import "$(LAVA_DUMP_DIR)"

bench: ## print performance figures, then one table of them beside LAVA 2023.01's (tools/bench-table; the log is target/bench.log)
	@mkdir -p target
	{ $(MAKE) --no-print-directory bench-figures; echo "bench-exit: $$?"; } 2>&1 | tee target/bench.log
	tools/bench-table target/bench.log

bench-figures: ## the benches alone (console, scheduler, latency, log ingest, memory, web pages and APIs, 1 GiB logs, event stream and queue depth, LAVA lab import, packages, U-Boot board boot, board jobs and overlays, a 20,000-job soak of 500 dummy devices)
	$(CARGO) bench -p lava-dispatcher --bench console
	$(CARGO) bench -p lava-server --bench runtime
	$(CARGO) bench -p lava-server --bench api
	$(CARGO) bench -p lava-server --bench pages
	$(CARGO) bench -p lava-server --bench logs
	$(CARGO) bench -p lava-server --bench events
	LAVA_BENCH_JOBS=$(BENCH_HISTORY_JOBS) $(CARGO) bench -p lava-server --bench history
	$(CARGO) bench -p lava-server --bench import
	$(CARGO) build -p lava-dev
	sh debian/tests/bench-deb $(BIN)/lava-dev
	$(CARGO) build --release -p lava-dispatcher --bin pduclient
	$(CARGO) bench -p lava-testkit --bench uboot_boot
	$(CARGO) build --release -p lava-dispatcher --bin lava-dispatch
	$(CARGO) bench -p lava-dispatcher --bench board
	$(CARGO) build --release -p lava-server -p lava-dispatcher -p lava-testkit --bins
	$(CURDIR)/target/release/lava-lab soak --devices 500 --workers 5 --jobs 20000 --clients 8

# Each parser of untrusted input, fuzzed for FUZZ_TIME seconds (cargo fuzz on the stable
# toolchain, see fuzz/run); fails on a crash, with the input saved in fuzz/artifacts/.
FUZZ_TIME ?= 60
FUZZ_TARGETS ?= xmlrpc_call job_yaml job_json testdef device_conf signals log_line

api-doc: ## rewrite docs/api.md from the XML-RPC method table and the REST route table
	UPDATE_API_DOC=1 $(CARGO) test -p lava-server --test rest_catalog docs_api_md

fuzz: ## fuzz the parsers of untrusted input, FUZZ_TIME seconds each (default 60); fails on a crash
	CARGO="$(CARGO)" sh fuzz/run $(FUZZ_TIME) $(FUZZ_TARGETS)

fmt: ## format the code
	$(CARGO) fmt --all

clippy: ## lint with warnings as errors
	$(CARGO) clippy --workspace --all-targets -- -D warnings

check: ## what CI checks: formatting, lints, tests
	$(CARGO) fmt --all --check
	$(MAKE) clippy
	$(MAKE) test

# cargo-deb is pinned (crates/lava-dev/src/cargo_deb.rs, VERSION; a test keeps the two equal).
CARGO_DEB_VERSION := 3.8.0

deb: ## build every .deb (lava, lava-server, lava-dispatcher, lava-dev) into target/debian
	@$(CARGO) deb --version 2>/dev/null | grep -qx 'cargo-deb $(CARGO_DEB_VERSION)' || \
		$(CARGO) install cargo-deb --version =$(CARGO_DEB_VERSION) --locked
	$(CARGO) build -p lava-dev
	rm -rf target/debian
	$(BIN)/lava-dev build --output $(CURDIR)/target/debian

# lintian runs with TMPDIR a directory of its own, removed after it: it leaves its mldbm-*
# files in TMPDIR.
install-test: deb ## as root: lintian, install the .debs, enable the Apache site, check, upgrade, purge
	tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/lava-lintian.XXXXXX") && trap 'rm -rf "$$tmp"' EXIT && trap 'exit 130' INT && trap 'exit 143' TERM && \
		TMPDIR="$$tmp" lintian --fail-on error,warning target/debian/lava*.deb
	CHECKOUT="$(CURDIR)" REBUILD="$(BIN)/lava-dev build --output $(CURDIR)/target/debian/upgrade" \
		sh debian/tests/install-test $(CURDIR)/target/debian
