"""Executes every notebook in this folder headless (nbclient) and writes the
executed copies, with their outputs and plots, to OUT_DIR. Exits non-zero
when a cell fails or a plot is missing."""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

here = Path(__file__).parent
out_dir = Path(sys.argv[1])
out_dir.mkdir(parents=True, exist_ok=True)
failed = []
for path in sorted(here.glob("*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(here)}}).execute()
    except Exception as e:  # a failing cell: report and go on with the others
        failed.append(f"{path.name}: {e}")
        continue
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
    nbformat.write(nb, out_dir / path.name)
    print(f"{path.name}: executed, {images} plot(s) -> {out_dir / path.name}")
    if images == 0:
        failed.append(f"{path.name}: no plot in the executed notebook")
if failed:
    print("\n".join(failed), file=sys.stderr)
    sys.exit(1)
