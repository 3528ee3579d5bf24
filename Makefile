# The two commands a newcomer needs:
#   make demo   - build and install ami-fast in .venv, then run the embedded call-centre demo
#   make test   - build, lint, type-check and run every test (Rust and Python, both parsers)
# Functional tests against a real Asterisk run when AMI_TEST_URL is set (see README).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test install lint rust-test py-test bench asterisk asterisk-stop clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Re-installs (and so rebuilds the Rust extension) whenever a source file changed.
$(STAMP): $(PY) pyproject.toml Cargo.toml $(shell find rust python -name '*.rs' -o -name '*.py' -o -name '*.toml' 2>/dev/null)
	$(PY) -m pip install -q -e '.[test,bench]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/ami-fast demo

lint: install
	$(VENV)/bin/ruff check python tests benches examples
	$(VENV)/bin/ruff format --check python tests benches examples
	$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest ami_fast._native --allowlist .stubtest-allowlist
	cargo clippy --workspace --all-targets --quiet -- -D warnings

# Rust tests, then a short fuzz pass: the fuzz regression corpus and 20 s of the seeded loop
# on a new seed each run (its own workspace, stable toolchain, no libFuzzer; a failure names
# its seed and input file; rust/fuzz/RUNS.md has the long runs).
rust-test:
	cargo test --workspace --quiet
	cd rust/fuzz && cargo test --quiet --locked --no-default-features
	cd rust/fuzz && cargo run --quiet --locked --release --no-default-features --bin fuzz_loop -- 20 $$(date +%s)

py-test: install
	$(PY) -c "import ami_fast, sys; print('implementation:', ami_fast.IMPLEMENTATION); sys.exit(ami_fast.IMPLEMENTATION != 'native')"
	$(VENV)/bin/pytest -q
	AMI_FAST_NO_EXTENSIONS=1 $(VENV)/bin/pytest -q -m 'not functional'

test: install rust-test lint py-test

bench: install
	$(PY) benches/compare.py

asterisk:
	scripts/asterisk/provision.sh

asterisk-stop:
	scripts/asterisk/stop.sh

clean:
	rm -rf $(VENV) target .pytest_cache .mypy_cache .ruff_cache
