# e-permit: make test (all tests), make demo (the offline path end to end),
# make run (the issuer service), make bench, make lint.

GO      ?= go
FUZZTIME ?= 5s
BIN     := bin

.PHONY: all build test fuzz demo run bench lint clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(MAKE) --no-print-directory fuzz

# Short, bounded fuzzing of the parsers that face untrusted input.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./verifier
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./statuslist
	$(GO) test -run '^$$' -fuzz '^FuzzSplit$$' -fuzztime $(FUZZTIME) ./sdjwt
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeStrict$$' -fuzztime $(FUZZTIME) ./internal/jws

demo: build
	@./scripts/demo.sh $(BIN)/permit

run:
	@echo "The issuer service permitd arrives with issue #3 (HTTP API on bbolt)."
	@echo "Until then, the whole offline path runs with: make demo"
	@echo "and the command-line tool with: $(GO) run ./cmd/permit help"

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
