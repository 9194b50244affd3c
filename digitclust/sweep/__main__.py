"""``python -m digitclust.sweep``: see ``digitclust.sweep.driver``."""

from digitclust.sweep.driver import main

main()
