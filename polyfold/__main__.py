"""``python -m polyfold``: the same as the ``polyfold`` command."""

import sys

from .cli import main

if __name__ == "__main__":  # pragma: no branch
    sys.exit(main())
