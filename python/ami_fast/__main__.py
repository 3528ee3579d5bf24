"""``python -m ami_fast``: the same command line as the ``ami-fast`` script."""

import sys

from .cli import main

sys.exit(main())
