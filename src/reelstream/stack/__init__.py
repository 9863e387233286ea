"""The embedded stack: real Apache Kafka, Redis, PostgreSQL and MLflow servers on loopback.

Started as background processes with state, logs (``STATE/logs/NAME.log``) and pid files
(``STATE/pids/NAME.pid``) under ``settings.state_dir``; no Docker needed. Used by
``reelstream stack up|down|status`` and by the test fixtures in ``tests/conftest.py``.
"""

from reelstream.stack.base import Service, StackError
from reelstream.stack.stack import SERVICES, EmbeddedStack, ServiceStatus

__all__ = ["EmbeddedStack", "ServiceStatus", "Service", "StackError", "SERVICES"]
