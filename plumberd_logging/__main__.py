"""``python -m plumberd_logging``: the ``plumberd`` command."""

import sys

from plumberd_logging.cli import main

sys.exit(main())
