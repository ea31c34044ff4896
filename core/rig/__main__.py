"""``python -m rig``."""

from rig.cli import main

main()
