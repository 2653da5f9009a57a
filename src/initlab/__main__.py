"""`python -m initlab ...` is the `initlab` command."""
import sys

from .cli import main

sys.exit(main())
