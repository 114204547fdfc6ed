"""``python -m vs_common.cli``: the same as the ``vs`` command."""

import sys

from vs_common.cli import main

sys.exit(main())
