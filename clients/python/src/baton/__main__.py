"""``python -m baton``: the ``baton`` command."""

import sys

from baton._cli import main

sys.exit(main())
