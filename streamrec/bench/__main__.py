"""``python -m streamrec.bench {ingest,serve,…,all} [--quick] [--out DIR]``."""

import sys

from streamrec.bench.cli import main

sys.exit(main())
