"""(5) Cold start: ``import function_app`` next to ``import azure.functions`` alone, each in a
fresh interpreter (the import only, not the interpreter's own start-up), RUNS times, alternated."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

from bench.common import CONFIG, ROOT, Result, Row, ms

RUNS = 7
TARGET_RATIO = 3.0
_CODE = "import time; t = time.perf_counter(); import {}; print(time.perf_counter() - t)"


def run() -> Result:
    app: list[float] = []
    bare: list[float] = []
    for _ in range(RUNS):
        bare.append(_import_s("azure.functions"))
        app.append(_import_s("function_app"))
    app_s, bare_s = statistics.median(app), statistics.median(bare)
    ratio = app_s / bare_s
    rows = [
        Row(
            "5. cold start",
            f"import function_app, median of {RUNS} fresh processes",
            ms(app_s * 1000),
            ms(bare_s * 1000),
            f"{ratio:.2f}x",
            f"≤ {TARGET_RATIO:.0f}x floor",
            ratio <= TARGET_RATIO,
        )
    ]
    data = {"function_app_s": [round(s, 4) for s in app], "azure_functions_s": [round(s, 4) for s in bare]}
    return Result(rows, data)


def _import_s(module: str) -> float:
    env = {**os.environ, "DEPLOYER_CONFIG": str(CONFIG)}
    done = subprocess.run(
        [sys.executable, "-c", _CODE.format(module)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return float(done.stdout.strip().splitlines()[-1])
