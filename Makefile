# onecloud: the commands an operator and a developer need. `make help` lists them.
SHELL := /bin/bash
ONECLOUD := .venv/bin/onecloud

.PHONY: help setup toolchain demo test unit lint format bench lab-up lab-status lab-down clean

help: ## show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## venv with pinned deps, lab packages (root), Pulumi toolchain built from Go modules
	scripts/setup.sh

toolchain: ## build (or show) the cached Pulumi CLI, language host and OpenStack provider
	scripts/setup.sh --no-lab && $(ONECLOUD) toolchain show

demo: ## set up and run the whole job on the local lab: census -> plan -> pulumi up -> migrate -> verify -> report
	scripts/demo.sh

test: ## set up, bring the lab up, run unit and integration tests, take the lab down
	scripts/test.sh

unit: ## fast unit tests only (no lab)
	.venv/bin/pytest -m "not integration" -q

lint: ## ruff (lint and format) and mypy
	.venv/bin/ruff check src tests benchmarks policy
	.venv/bin/ruff format --check src tests benchmarks policy
	.venv/bin/mypy

format: ## apply ruff format
	.venv/bin/ruff format src tests benchmarks policy

bench: ## run the benchmarks (they print figures)
	for b in benchmarks/bench_*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done

lab-up: ## bring the lab (OpenStack + SSH hosts) up
	$(ONECLOUD) lab up

lab-status: ## show lab services and hosts
	$(ONECLOUD) lab status

lab-down: ## stop everything the lab started
	$(ONECLOUD) lab down

clean: ## remove caches in the checkout (not the toolchain cache or lab state)
	rm -rf .pytest_cache .ruff_cache .mypy_cache reports
