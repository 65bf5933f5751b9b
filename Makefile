# cointracker: `make help` lists the targets. Every tool is fetched by Go
# itself (tools/go.mod), and PostgreSQL comes from scripts/start_db.sh.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO ?= go
TOOL := $(GO) tool -modfile=tools/go.mod
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN := bin/cointracker
# The OpenAPI 3 description is converted from swag's output by a test
# (api/openapi_test.go), which -update rewrites and otherwise checks.
OPENAPI := $(GO) test ./api -run '^TestOpenAPIDocumentIsCurrent$$' -count=1
# The Go client of the API, generated from the OpenAPI description.
OAPI_CODEGEN := $(TOOL) oapi-codegen -config client/oapi-codegen.yaml
REDOCLY_VERSION := 2.77.0
SWAGGER_CLI_VERSION := 4.0.4
SWAG_INIT := swag init -g server.go -d api --outputTypes json --parseInternal --quiet

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## database up, migrate, serve on http://localhost:8000 (docs at /docs/index.html)
	scripts/run_api.sh

.PHONY: build
build: ## build bin/cointracker
	$(GO) build -trimpath -ldflags '-s -w -X main.version=$(VERSION)' -o $(BIN) ./cmd/cointracker

.PHONY: test
test: ## run every test against a real PostgreSQL (started if needed), race detector on; artifacts (screenshots) in artifacts/
	@rm -rf artifacts && mkdir -p artifacts
	TEST_DATABASE_URL="$$(scripts/start_db.sh)" $(GO) test -race -count=1 -artifacts -outputdir "$(CURDIR)/artifacts" ./...

.PHONY: lint
lint: gen-check ## gofmt, go vet, golangci-lint, sqlc vet, alert rules, the API descriptions (redocly, swagger-cli, TypeScript types), generated code up to date
	@unformatted=$$(find . -name '*.go' -not -path './.*' -not -path './bin/*' | xargs gofmt -l); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(TOOL) golangci-lint run ./...
	@# sqlc vet prepares every query against a freshly migrated database.
	url=$$(scripts/start_db.sh --fresh cointracker_lint) && \
	  DATABASE_URL=$$url LOG_LEVEL=warn $(GO) run ./cmd/cointracker migrate up && \
	  SQLC_DATABASE_URL=$$url $(TOOL) sqlc vet
	@# The API descriptions, checked by the tools integrators use (pinned
	@# npm packages; npm comes with Debian's nodejs).
	@command -v npx >/dev/null || scripts/install_packages.sh nodejs npm
	npx --yes @redocly/cli@$(REDOCLY_VERSION) lint --format=summary api/openapi.json
	npx --yes @apidevtools/swagger-cli@$(SWAGGER_CLI_VERSION) validate api/swagger/swagger.json
	@# A front-end team's view: TypeScript types generated from the
	@# description (openapi-typescript), and a typed script compiled
	@# against them (tsc --noEmit); versions pinned in package-lock.json.
	cd client/typescript && npm ci --silent --no-audit --no-fund && npm run check --silent
	@# promtool comes with Debian's prometheus package.
	@command -v promtool >/dev/null || scripts/install_packages.sh prometheus
	promtool check rules deploy/prometheus/alerts.yml

.PHONY: gen
gen: ## regenerate db/ (sqlc), db/schema.sql (the migrated schema), api/swagger/ (swag), api/openapi.json (OpenAPI 3) and client/ (oapi-codegen) from their sources
	$(TOOL) sqlc generate
	scripts/dump_schema.sh >db/schema.sql
	$(TOOL) swag fmt -d api
	$(TOOL) $(SWAG_INIT) -o api/swagger
	$(OPENAPI) -update
	$(OAPI_CODEGEN) -o client/client.gen.go api/openapi.json

.PHONY: gen-check
gen-check: ## fail when committed generated code differs from what make gen makes
	$(TOOL) sqlc diff
	scripts/dump_schema.sh | diff db/schema.sql - || { echo "db/schema.sql is stale: run make gen"; exit 1; }
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  $(TOOL) $(SWAG_INIT) -o "$$tmp/swagger" && \
	  diff -r "$$tmp/swagger" api/swagger || { echo "api/swagger is stale: run make gen"; exit 1; }
	$(OPENAPI)
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  $(OAPI_CODEGEN) -o "$$tmp/client.gen.go" api/openapi.json && \
	  diff "$$tmp/client.gen.go" client/client.gen.go || { echo "client/client.gen.go is stale: run make gen"; exit 1; }

.PHONY: migrate
migrate: ## apply pending migrations to the database
	DATABASE_URL="$$(scripts/start_db.sh)" $(GO) run ./cmd/cointracker migrate up

.PHONY: seed
seed: ## fill the database with demo data: make seed [scale=demo|bench|large] [args="--seed 7"]
	scripts/add_fixtures.sh --scale $(or $(scale),demo) $(args)

.PHONY: bench
bench: build ## benchmarks: Go benchmarks, then the reads and a load run against pgbench on seeded data [scale=bench|large] [duration=10s] [args="-pools 4,8,16,32"]
	TEST_DATABASE_URL="$$(scripts/start_db.sh)" $(GO) test -run '^$$' -bench . -benchtime 3x -count 1 ./...
	@# The reads and the load run: the scale's fixtures in their own
	@# database (a re-run of the seed writes nothing), the real binary,
	@# and pgbench beside it.
	@command -v wrk >/dev/null || scripts/install_packages.sh wrk
	scale=$(or $(scale),bench); \
	  url=$$(scripts/start_db.sh cointracker_$$scale); \
	  DATABASE_URL=$$url LOG_LEVEL=warn $(BIN) migrate up; \
	  DATABASE_URL=$$url $(BIN) seed --scale $$scale; \
	  $(GO) run ./bench -database-url "$$url" -binary $(BIN) -duration $(or $(duration),10s) $(args)

.PHONY: migration
migration: ## write a new migration: make migration name=add_something
	$(GO) run ./cmd/cointracker migrate create $(name)

.PHONY: db-up
db-up: ## start the database (see scripts/start_db.sh) and print its URL
	scripts/start_db.sh

.PHONY: db-down
db-down: ## stop the local database, keeping its data
	scripts/stop_db.sh

.PHONY: clean
clean: ## stop the local database and delete it, with build output
	scripts/stop_db.sh
	if [ -f .data/pgdir ]; then rm -rf "$$(cat .data/pgdir)"; fi
	rm -rf .data bin client/typescript/node_modules client/typescript/schema.d.ts
