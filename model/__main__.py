"""`python -m model` is `labor-stocks`."""

import sys

from .cli import main

sys.exit(main())
