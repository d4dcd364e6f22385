"""``python -m baton_codegen``."""

import sys

from baton_codegen._cli import main

sys.exit(main())
