"""``python -m numpy_movievec``: the same as the ``movievec`` command (see ``cli/``).

    python -m numpy_movievec demo
"""

import sys

from numpy_movievec.cli import main

if __name__ == "__main__":
    sys.exit(main())
