"""docs/tutorial.ipynb runs from top to bottom (nbclient, the project's Python as kernel)."""

from __future__ import annotations

import nbformat
import yaml
from nbclient import NotebookClient

from tests.conftest import ROOT


def test_tutorial_notebook_executes(tmp_path):
    nb = nbformat.read(ROOT / "docs" / "tutorial.ipynb", as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, if a cell fails
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    fitted = yaml.safe_load((ROOT / "calibration" / "fitted.yaml").read_text())
    kh_rate = fitted["factions"]["KH"]["base_rate"]  # the calibrated value, read not copied
    assert f"['KH', 'AAH', 'KSS', 'Nujaba'] {kh_rate} 0.9" in text
