"""``python -m app`` is the ``videoclf`` command."""
import sys

from app.cli import main

sys.exit(main())
