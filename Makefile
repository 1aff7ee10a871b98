# aduan: `make run` starts a demo server on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGIN_DIRS := $(patsubst %/,%,$(sort $(dir $(wildcard plugins/*/pyproject.toml))))
PLUGIN_NAMES := $(notdir $(PLUGIN_DIRS))
EMPTY :=
SPACE := $(EMPTY) $(EMPTY)
COMMA := ,
DEMO_PLUGINS ?= $(subst $(SPACE),$(COMMA),$(PLUGIN_NAMES))
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install openapi bench clean demo-reset

$(BIN)/.installed: pyproject.toml $(wildcard plugins/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]' $(foreach d,$(PLUGIN_DIRS),-e '$(d)[test]')
	touch $@

install: $(BIN)/.installed

## Start a working server with demo data on SQLite (instance/aduan.db), printing staff tokens.
run: install
	ADUAN_PLUGINS=$(DEMO_PLUGINS) $(BIN)/aduan demo --if-empty
	ADUAN_PLUGINS=$(DEMO_PLUGINS) $(BIN)/aduan serve --host $(HOST) --port $(PORT) --with-worker

## Run the whole test suite (core and every plugin).
test: install
	$(BIN)/python -m pytest -q

openapi: install
	ADUAN_PLUGINS=$(DEMO_PLUGINS) $(BIN)/aduan openapi > openapi/openapi.json

bench: install
	$(BIN)/python bench/run.py

demo-reset:
	rm -f instance/aduan.db instance/aduan.db-wal instance/aduan.db-shm

clean:
	rm -rf $(VENV) instance
