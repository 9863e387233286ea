"""MLflow tracking server: SQLite backend store and local artifacts under the state dir.

The slowest service to answer ``/health``, so tests only start it on request.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from reelstream.stack.base import Service

__all__ = ["MlflowService"]


class MlflowService(Service):
    name = "mlflow"
    setting = "mlflow_tracking_uri"
    start_timeout_s = 360.0  # generous: a loaded machine slows its start-up many times over

    def env(self) -> dict[str, str]:
        # No job runner: it forks 7 huey consumers at start (GenAI jobs reelstream never
        # uses), which more than doubles the start time on a busy 2-core machine.
        return {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}

    def command(self) -> list[str]:
        root = self.state_dir / "mlflow"
        (root / "artifacts").mkdir(parents=True, exist_ok=True)
        mlflow_bin = Path(sys.executable).parent / "mlflow"
        return [
            str(mlflow_bin),
            "server",
            "--backend-store-uri", f"sqlite:///{(root / 'mlflow.db').resolve()}",
            "--default-artifact-root", str((root / "artifacts").resolve()),
            "--host", self.host,
            "--port", str(self.port),
            "--workers", "1",
        ]  # fmt: skip

    def ready(self) -> bool:
        import httpx

        response = httpx.get(f"{self.url.rstrip('/')}/health", timeout=2.0)
        return response.status_code == 200
