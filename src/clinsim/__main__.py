"""``python -m clinsim``: the command line (same as the ``clinsim`` script)."""

from clinsim.cli import main

main()
