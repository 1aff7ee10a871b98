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
LAPOR_SIM_PORT ?= 8765
# The demo wires the lapor plugin to its local SP4N-LAPOR! simulator (never to the real service).
LAPOR_DEMO_ENV := ADUAN_LAPOR_BASE_URL=http://127.0.0.1:$(LAPOR_SIM_PORT) ADUAN_LAPOR_AUTH_HEADER=auth \
	ADUAN_LAPOR_BEARER_TOKEN=demo-token ADUAN_LAPOR_TOKEN_GUID='{0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D}' \
	ADUAN_LAPOR_INSTITUTION_ID=1001 ADUAN_LAPOR_POLL_SECONDS=30 ADUAN_LAPOR_POLL_MIN_INTERVAL=30

.PHONY: run test install openapi bench clean demo-reset messages

$(BIN)/.installed: pyproject.toml $(wildcard plugins/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]' $(foreach d,$(PLUGIN_DIRS),-e '$(d)[test]')
	touch $@

install: $(BIN)/.installed

## Start a working server with demo data on SQLite (instance/aduan.db), printing staff tokens.
run: install
	@set -e; export ADUAN_PLUGINS=$(DEMO_PLUGINS); \
	case ",$(DEMO_PLUGINS)," in *,lapor,*) \
	  export $(LAPOR_DEMO_ENV); \
	  $(BIN)/aduan lapor simulate --port $(LAPOR_SIM_PORT) & sim=$$!; \
	  trap 'kill $$sim 2>/dev/null' EXIT INT TERM; \
	  echo "SP4N-LAPOR! simulator on http://127.0.0.1:$(LAPOR_SIM_PORT)";; esac; \
	$(BIN)/aduan demo --if-empty; \
	$(BIN)/aduan serve --host $(HOST) --port $(PORT) --with-worker

## Run the whole test suite (core and every plugin).
test: install
	$(BIN)/python -m pytest -q

openapi: install
	ADUAN_PLUGINS=$(DEMO_PLUGINS) $(BIN)/aduan openapi > openapi/openapi.json

## Extract every translatable text into the core's catalogue template and merge it into the .po files.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k gettext_in:2 -k pgettext:1c,2 -k lazy_pgettext:1c,2 \
	  --no-location --sort-output -o core/aduan/i18n/aduan.pot core plugins
	$(BIN)/pybabel update -D aduan -i core/aduan/i18n/aduan.pot -d core/aduan/i18n/locales --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date

bench: install
	$(BIN)/python bench/run.py

demo-reset:
	rm -f instance/aduan.db instance/aduan.db-wal instance/aduan.db-shm instance/aduan.db.migrate-lock instance/demo-tokens.txt

clean:
	rm -rf $(VENV) instance
