"""The errors of the conformance suite.

ConformanceError
├── ScenarioError     a scenario file is malformed
├── SetupError        the server, a client build or a runner could not be prepared
└── GateError         the run finished and something failed (the report says what)
"""

from __future__ import annotations


class ConformanceError(Exception):
    """Base class of the suite's errors."""


class ScenarioError(ConformanceError):
    """A scenario file is malformed."""


class SetupError(ConformanceError):
    """The server, a client build or a runner could not be prepared."""


class GateError(ConformanceError):
    """The run finished and at least one check failed."""
