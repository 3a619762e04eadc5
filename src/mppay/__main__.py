"""``python -m mppay`` is the ``mppay`` command."""

from mppay.cli import main

main()
