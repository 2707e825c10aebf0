"""Offline stand-in for DashScope's Responses + Conversations API.

Imports nothing from Django or the app. See `README.md` for directives, faults
and control routes.
"""

from .errors import MODELS
from .faults import FaultQueue
from .server import PREFIX, SimulatorApp, SimulatorServer, run_forever
from .state import SimulatorState

__all__ = [
    "MODELS",
    "PREFIX",
    "FaultQueue",
    "SimulatorApp",
    "SimulatorServer",
    "SimulatorState",
    "run_forever",
]
