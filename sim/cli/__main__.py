"""``python -m sim.cli``: the escsim command line."""

from sim.cli import main

try:
    main()
finally:
    # CPython 3.12 under ``-m`` only: a Ctrl-C/SIGTERM that lands inside code run from a string
    # (``exec``/``eval``, as numba and the standard library's code generators use) sets a flag
    # that ``Py_RunMain`` reads at exit, so the process kills itself with SIGINT (exit -2)
    # even though escsim caught the interrupt and exits with its documented 130. Every string
    # evaluation clears that flag at its start: this empty one does it after the command.
    exec("pass", {})
