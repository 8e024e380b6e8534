"""``python -m paper_figures --profile quick --out DIR``."""

import sys

from paper_figures.reproduce import main

sys.exit(main())
