"""``python -m digitclust.sweep``: see ``digitclust.sweep.cli``."""

from digitclust.sweep.cli import main

main()
