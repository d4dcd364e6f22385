"""``python -m baton_conformance``."""

import sys

from baton_conformance._cli import main

sys.exit(main())
