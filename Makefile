# The README's two commands: `make run` and `make test`.
GO ?= go
FUZZTIME ?= 60s
FUZZMINIMIZE ?= 1s

.PHONY: run test check fuzz bench

# Run the server on its embedded default (127.0.0.1:8080, data in ./eitaxii-data).
run:
	$(GO) run ./cmd/eitaxii serve

# Everything CI checks: formatting, vet, tidy modules, the dependency
# direction of the design (stix <- access <- store <- taxii <- cmd; a
# backend, store/bolt or store/postgres, is chosen in cmd only and imports
# no other backend), and the race-enabled tests. Deterministic: fuzz seeds
# and testdata/fuzz regressions run as ordinary tests; exploring for new
# inputs is `make fuzz`, run by hand before a change lands.
test: check
	$(GO) test -race -count=1 ./...

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@$(GO) mod tidy -diff || { echo "go mod tidy would change go.mod/go.sum"; exit 1; }
	@if $(GO) list -deps ./stix/... ./store/... | grep -E 'gin-gonic|eitaxii/taxii'; then \
	  echo "stix and store must not depend on gin or taxii"; exit 1; fi
	@if $(GO) list -deps ./stix/... | grep -E 'bbolt'; then \
	  echo "stix must not depend on bbolt"; exit 1; fi
	@if $(GO) list -deps ./store | grep -E 'go\.etcd\.io/bbolt'; then \
	  echo "the store contract (package store) must not depend on bbolt: only store/bolt does"; exit 1; fi
	@if $(GO) list -deps ./taxii/... | grep -E 'go\.etcd\.io/bbolt|eitaxii/store/bolt'; then \
	  echo "taxii must know only the store contract, not bbolt or store/bolt"; exit 1; fi
	@if $(GO) list -f '{{.ImportPath}}: {{join .Imports " "}}' ./... | grep -v '^github.com/eitaxii/eitaxii/store/bolt:' | grep -E 'go\.etcd\.io/bbolt'; then \
	  echo "only store/bolt may import bbolt (cmd chooses the backend through store/bolt's functions)"; exit 1; fi
	@if $(GO) list -deps ./store/bolt/... | grep -E 'eitaxii/store/postgres|jackc/pgx'; then \
	  echo "store/bolt must not depend on another backend (store/postgres, pgx)"; exit 1; fi
	@if $(GO) list -deps ./store/postgres/... | grep -E 'eitaxii/store/bolt|go\.etcd\.io/bbolt'; then \
	  echo "store/postgres must not depend on another backend (store/bolt, bbolt)"; exit 1; fi
	@if $(GO) list -f '{{.ImportPath}}: {{join .Imports " "}}' ./... | grep -Ev '^github.com/eitaxii/eitaxii/store/postgres(/[^:]*)?:' | grep -E 'github\.com/jackc/'; then \
	  echo "only store/postgres may import pgx (cmd chooses the backend through store/postgres's functions)"; exit 1; fi
	@if $(GO) list -deps ./taxii/... | grep -E 'jackc/pgx|eitaxii/store/postgres'; then \
	  echo "taxii must know only the store contract, not pgx or store/postgres"; exit 1; fi
	@if $(GO) list -deps ./delivery/... | grep -E 'gin-gonic|eitaxii/taxii|go\.etcd\.io/bbolt|eitaxii/store/'; then \
	  echo "delivery knows only the store contract: not gin, taxii or a backend"; exit 1; fi
	@if $(GO) list -deps ./console | grep -E 'gin-gonic|eitaxii/taxii|go\.etcd\.io/bbolt|eitaxii/store/|jackc/pgx'; then \
	  echo "console knows only the store contract and its Service: not gin, taxii or a backend"; exit 1; fi
	@if $(GO) list -deps ./ioc | grep -E '^github\.com/eitaxii/eitaxii/' | grep -vE '^github\.com/eitaxii/eitaxii/(ioc|stix)(/|$$)'; then \
	  echo "ioc imports only stix"; exit 1; fi
	@if $(GO) list -deps ./access/... | grep -E 'gin-gonic|eitaxii/store|eitaxii/taxii|bbolt|^net/http(/|$$)'; then \
	  echo "access must not depend on gin, store, taxii, bbolt or net/http"; exit 1; fi
	@if $(GO) list -deps ./client/... | grep -E 'gin-gonic|bbolt|^github\.com/eitaxii/eitaxii/' | grep -vE '^github\.com/eitaxii/eitaxii/client(/|$$)'; then \
	  echo "client must import no server package (taxii, store, access, cmd, ...) and neither gin nor bbolt"; exit 1; fi

# Explore every fuzz target for FUZZTIME (minimizing a finding for at most
# FUZZMINIMIZE); go test -fuzz takes one target per run. A finding is written
# to the package's testdata/fuzz and from then on runs in `make test`.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg || exit 1; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
