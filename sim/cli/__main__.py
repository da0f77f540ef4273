"""``python -m sim.cli``: the escsim command line."""

from sim.cli import main

main()
