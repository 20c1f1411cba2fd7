"""``python -m auditpipe_common.tlog``: see :mod:`auditpipe_common.tlog.cli`."""

import sys

from auditpipe_common.tlog.cli import main

sys.exit(main())
