"""Run the whole performance comparison: ``python benches/compare.py [--quick]``.

Prints the tables, saves ``benches/results/latest.json`` and draws ``docs/perf.svg``. The code
lives in ``ami_fast._bench`` so the installed ``ami-fast bench`` command can run it too.
"""

from __future__ import annotations

import sys

from ami_fast._bench.compare import main

if __name__ == "__main__":
    sys.exit(main())
