"""What every mojactl command shares: the consoles and the exit codes.

Exit codes: 0 success, 1 internal error, 2 invalid input (configuration, unknown stack or release,
refused operation, missing tool), 3 an operation ran and failed (hosts failed, tests failed, a gate
not met), 4 the environment could not be reached (cluster or release unreachable: nothing was tested).
"""

from __future__ import annotations

from typing import NoReturn

import typer

# Terminal-aware: off a terminal nothing is wrapped or truncated (mojaloop_iac/cli_output.py).
from mojaloop_iac.cli_output import err, out

EXIT_OK, EXIT_INTERNAL, EXIT_INVALID, EXIT_FAILED, EXIT_UNREACHABLE = 0, 1, 2, 3, 4
__all__ = ["EXIT_FAILED", "EXIT_INTERNAL", "EXIT_INVALID", "EXIT_OK", "EXIT_UNREACHABLE", "err", "fail", "out"]


def fail(message: str, code: int) -> NoReturn:
    err.print(message, highlight=False)
    raise typer.Exit(code)
