# e-permit. make run: the issuer service (needs only Go); make test: every test
# (installs chromium, nodejs and curl when run as root on Debian, or says which tests
# it skipped); make demo: the main job end to end, against a permitd it starts
# itself; make demo-offline: the same with the CLI alone; make bench, make lint;
# make bench-peers: our verifier against sd-jwt-js on the same presentations;
# make interop: independent wallet and SD-JWT libraries against permitd.

GO      ?= go
FUZZTIME ?= 5s
BIN     := bin

.PHONY: all build wasm screenshots test test-deps fuzz demo demo-offline run bench bench-scan bench-peers scale lint clean interop

all: build

build: wasm
	$(GO) build -o $(BIN)/ ./cmd/permit ./cmd/permitd

# The browser apps' WebAssembly module (the Go verifier, QR decoder and wallet),
# the same precompressed with brotli (epermit.wasm.br, sent to browsers that take
# it; about a minute of CPU, kept in the user's cache by content) and Go's loader
# for it, embedded into permitd by package web.
WASM_DIR := web/static/app
wasm:
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="-s -w" -o $(WASM_DIR)/epermit.wasm ./cmd/epermit-wasm
	$(GO) run ./internal/cmd/brotli $(WASM_DIR)/epermit.wasm
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" $(WASM_DIR)/wasm_exec.js

test: test-deps wasm
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./cmd/epermit-wasm ./browser
	$(GO) test -count=1 ./...
	@if command -v node >/dev/null; then \
	  echo 'GOOS=js GOARCH=wasm $(GO) test ./cmd/epermit-wasm ./browser (under Node)'; \
	  GOOS=js GOARCH=wasm $(GO) test -count=1 -exec="$$($(GO) env GOROOT)/lib/wasm/go_js_wasm_exec" ./cmd/epermit-wasm ./browser; \
	fi
	$(MAKE) --no-print-directory fuzz
	@scripts/test-deps.sh --report

# What the tests use beyond Go: installed as root with apt-get, else named.
test-deps:
	@scripts/test-deps.sh

# Short, bounded fuzzing of the parsers that face untrusted input.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./verifier
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./statuslist
	$(GO) test -run '^$$' -fuzz '^FuzzSplit$$' -fuzztime $(FUZZTIME) ./sdjwt
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeStrict$$' -fuzztime $(FUZZTIME) ./internal/jws
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeStrictMatchesJSON$$' -fuzztime $(FUZZTIME) ./internal/jws
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeValueMatchesRoundTrip$$' -fuzztime $(FUZZTIME) ./internal/jws
	$(GO) test -run '^$$' -fuzz '^FuzzAppendJSON$$' -fuzztime $(FUZZTIME) ./verifier
	$(GO) test -run '^$$' -fuzz '^FuzzParseHolderJWK$$' -fuzztime $(FUZZTIME) ./keys
	$(GO) test -run '^$$' -fuzz '^FuzzParseOfferURI$$' -fuzztime $(FUZZTIME) ./oid4vci
	$(GO) test -run '^$$' -fuzz '^FuzzParseCredentialRequest$$' -fuzztime $(FUZZTIME) ./oid4vci
	$(GO) test -run '^$$' -fuzz '^FuzzAPIBodies$$' -fuzztime $(FUZZTIME) ./server
	$(GO) test -run '^$$' -fuzz '^FuzzReadSnapshot$$' -fuzztime $(FUZZTIME) ./issuer
	$(GO) test -run '^$$' -fuzz '^FuzzParseApplication$$' -fuzztime $(FUZZTIME) ./permit
	$(GO) test -run '^$$' -fuzz '^FuzzUnpack$$' -fuzztime $(FUZZTIME) ./qr
	$(GO) test -run '^$$' -fuzz '^FuzzPackRoundTrip$$' -fuzztime $(FUZZTIME) ./qr
	$(GO) test -run '^$$' -fuzz '^FuzzNormalizeScanned$$' -fuzztime $(FUZZTIME) ./qr
	$(GO) test -run '^$$' -fuzz '^FuzzUnmarshal$$' -fuzztime $(FUZZTIME) ./audit
	$(GO) test -run '^$$' -fuzz '^FuzzProofNonce$$' -fuzztime $(FUZZTIME) ./oid4vci
	$(GO) test -run '^$$' -fuzz '^FuzzNonce$$' -fuzztime $(FUZZTIME) ./issuer

# Independent OpenID4VCI and SD-JWT VC libraries from npm (pinned in
# interop/package-lock.json) against a real permitd on loopback; needs
# Node.js 20+ and npm. See docs/interop.md.
interop: build
	@./interop/run.sh $(BIN)

# The main job end to end: starts its own permitd on a free port, in a
# temporary directory; prints every command as it runs it. Needs curl.
demo: build
	@command -v curl >/dev/null || { echo "make demo needs curl: sudo apt-get install -y curl" >&2; exit 1; }
	@./scripts/demo-service.sh $(BIN)

# The same path with no service: keys, lists and issuance from the CLI.
demo-offline: build
	@./scripts/demo.sh $(BIN)/permit

# The issuer service with its store and keys in ./var (PERMITD_* variables
# and flags after ARGS= configure it; see bin/permitd help).
run: build
	$(BIN)/permitd --data var $(ARGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The browser tests again, saving their screenshots into docs/screenshots
# (the tests build the WebAssembly module they serve): the apps, the web
# wallet's key and status screens, the console.
screenshots:
	$(GO) test -count=1 -run 'TestBrowserApps|TestBrowserWallet|TestConsole' ./cmd/permitd -args -screenshots

# Verification side by side with the OpenWallet Foundation's sd-jwt-js
# (pinned in peers/package-lock.json), in-process under Node.js 20+, on the
# same presentations, in one run (docs/performance.md).
bench-peers:
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "make bench-peers needs node and npm (Node.js 20 or later)" >&2; exit 1; }
	cd peers && npm ci --no-audit --no-fund --loglevel=error
	$(GO) run ./peers -dir peers

# QR scanning side by side with zbar and zxing-cpp on the photo corpora (installs them if absent).
bench-scan:
	@./scripts/bench-scan.sh

# Province scale (docs/performance.md): SCALE_N synthetic permits in SCALE_DIR
# (kept, and resumed when interrupted), then TestScale's measurements, then the
# bulk endorsement of all of them on a copy of the store. Needs about 6 GB a
# million permits, twice.
SCALE_N   ?= 1000000
SCALE_DIR ?= /tmp/epermit-scale
scale: build
	@mkdir -p $(SCALE_DIR); uptime
	$(BIN)/permitd store generate --data $(SCALE_DIR)/data --count $(SCALE_N) --age-days 336-364 --list $(SCALE_DIR)/list.csv
	EPERMIT_SCALE_DATA=$(SCALE_DIR)/data EPERMIT_SCALE_LIST=$(SCALE_DIR)/list.csv \
	  $(GO) test -count=1 -timeout 3h -run '^TestScale' -v ./cmd/permitd
	rm -rf $(SCALE_DIR)/endorse && cp -r $(SCALE_DIR)/data $(SCALE_DIR)/endorse && sync; uptime
	time $(BIN)/permitd endorse --data $(SCALE_DIR)/endorse --from $(SCALE_DIR)/list.csv --batch 5000
	@uptime
	$(BIN)/permitd store stats --data $(SCALE_DIR)/endorse
	$(BIN)/permitd audit verify --data $(SCALE_DIR)/endorse
	rm -rf $(SCALE_DIR)/endorse

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
