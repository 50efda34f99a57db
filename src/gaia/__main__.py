"""``python -m gaia`` is the ``gaia`` command."""

from gaia.cli import main

main()
