"""``python -m redes ...`` runs the command line (same as the ``redes`` console script)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
