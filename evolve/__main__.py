"""``python -m evolve`` runs the persona-evolve CLI."""

import sys

from evolve.cli import main

sys.exit(main())
