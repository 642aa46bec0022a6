# The README's two commands: `make run` and `make test`.
GO ?= go
FUZZTIME ?= 10s

.PHONY: run test check fuzz bench

# Run the server on its embedded default (127.0.0.1:8080, data in ./eitaxii-data).
run:
	$(GO) run ./cmd/eitaxii serve

# Everything CI checks: formatting, vet, the dependency direction of the
# design, the race-enabled tests, and a short run of every fuzzer.
test: check
	$(GO) test -race -count=1 ./...
	$(MAKE) --no-print-directory fuzz

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if $(GO) list -deps ./stix/... ./store/... | grep -E 'gin-gonic|eitaxii/taxii'; then \
	  echo "stix and store must not depend on gin or taxii"; exit 1; fi
	@if $(GO) list -deps ./stix/... | grep -E 'bbolt'; then \
	  echo "stix must not depend on bbolt"; exit 1; fi

# Each fuzz target briefly; go test -fuzz takes one target per run.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
