# callqa: everything installs itself into .venv; system packages via apt when missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TTS_STAMP := $(VENV)/.installed-tts
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120
export DO_NOT_TRACK ?= 1
export HF_HUB_OFFLINE ?= 1

.PHONY: help sysdeps install test lint demo bench serve clean

help:  ## list targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

sysdeps:  ## apt-get install ffmpeg, espeak-ng, sox, chromium and a CJK font where missing
	@missing=""; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	command -v sox >/dev/null || missing="$$missing sox"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -d /usr/share/fonts/truetype/wqy || missing="$$missing fonts-wqy-zenhei"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	# the CPU build of torch lies on this machine's disk; an unpinned torch would pull CUDA
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[openai,models,dev]'
	touch $(STAMP)

install: sysdeps $(STAMP)  ## create .venv and install callqa with every extra

# the example-call tools (Kokoro TTS, misaki): the tests check the committed calls against them
$(TTS_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/pip install -q -e '.[tts]'
	touch $(TTS_STAMP)

lint: install  ## ruff and mypy
	$(BIN)/ruff check callqa transcriber review flows tests bench examples
	$(BIN)/mypy

test: install lint $(TTS_STAMP)  ## the whole test suite (CI runs exactly this)
	$(BIN)/python -m pytest -q -rs

demo: install  ## the nightly flow on examples/recordings, then simulated reviewers (from the scripts' truth) and the report
	$(BIN)/callqa demo

bench: install  ## the benchmarks; results land in bench/results/
	$(BIN)/python bench/asr_speed.py
	$(BIN)/python bench/screen_speed.py
	$(BIN)/python bench/screen_quality.py
	$(BIN)/python bench/screen_quality.py --devset bench/screen_holdout --out bench/results/screen_quality_holdout.json
	$(BIN)/python bench/screen_quality.py --devset bench/screen_holdout_b --out bench/results/screen_quality_holdout_b.json
	$(BIN)/python bench/screen_quality.py --devset bench/screen_holdout_c --out bench/results/screen_quality_holdout_c.json
	$(BIN)/python bench/screen_quality.py --devset bench/screen_holdout_d --out bench/results/screen_quality_holdout_d.json
	$(BIN)/python bench/screen_quality.py --devset bench/screen_holdout_e --out bench/results/screen_quality_holdout_e.json
	$(BIN)/python bench/screen_quality.py --devset bench/screen_holdout_f --out bench/results/screen_quality_holdout_f.json
	$(BIN)/python bench/screen_quality.py --devset bench/screen_holdout_g --out bench/results/screen_quality_holdout_g.json
	$(BIN)/python bench/screen_quality.py --devset bench/screen_holdout_h --out bench/results/screen_quality_holdout_h.json
	$(BIN)/python bench/screen_quality.py --devset bench/screen_probe_c --out bench/results/screen_quality_probe_c.json
	$(BIN)/python bench/screen_quality.py --devset bench/screen_probe_d --out bench/results/screen_quality_probe_d.json
	$(BIN)/python bench/screen_quality.py --devset bench/screen_probe_e --out bench/results/screen_quality_probe_e.json
	$(BIN)/python bench/screen_quality.py --devset bench/screen_probe_g --out bench/results/screen_quality_probe_g.json
	$(BIN)/python bench/screen_quality.py --devset bench/screen_probe_h --out bench/results/screen_quality_probe_h.json
	$(BIN)/python bench/screen_sentences.py
	$(BIN)/python bench/screen_sentences.py --sentences bench/screen_sentences/sentences_zh_b.jsonl --out bench/results/screen_sentences_b.json
	$(BIN)/python bench/screen_sentences.py --sentences bench/screen_sentences/sentences_zh_c.jsonl --out bench/results/screen_sentences_c.json
	$(BIN)/python bench/screen_sentences.py --sentences bench/screen_sentences/sentences_zh_d.jsonl --out bench/results/screen_sentences_d.json
	$(BIN)/python bench/screen_sentences.py --sentences bench/screen_sentences/sentences_zh_e.jsonl --out bench/results/screen_sentences_e.json
	$(BIN)/python bench/screen_sentences.py --sentences bench/screen_sentences/sentences_zh_i.jsonl --out bench/results/screen_sentences_i.json
	$(BIN)/python bench/queue_load.py
	$(BIN)/python bench/web_latency.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/asr_quality.py
	$(BIN)/python bench/e2e_quality.py

serve: install  ## the review web UI on http://127.0.0.1:8000
	$(BIN)/callqa serve

clean:  ## remove ./var (the demo's database, models cache and folders)
	rm -rf var
