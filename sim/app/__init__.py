"""The workshop page (``escsim app``): policies compared live in a browser.

Layer ``app`` sits between ``report`` and ``cli``: it composes the scenario loader, the runner,
the paired comparison, the explanation and the workshop figures into a Solara page; nothing in
the package imports it except ``sim.cli.app``.
"""
