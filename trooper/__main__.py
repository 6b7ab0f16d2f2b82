"""``python -m trooper serve`` is the same as ``trooper serve``."""

import sys

from trooper.cli import main

sys.exit(main())
