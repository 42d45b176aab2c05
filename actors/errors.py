"""The project's exceptions: one base, one subclass per layer."""

from __future__ import annotations


class UpisimError(Exception):
    """Base of every error upisim raises on purpose."""


class AmountError(UpisimError, ValueError):
    """An amount that is not a positive number of rupees with at most two decimals."""


class ScenarioError(UpisimError):
    """A scenario file that cannot be run; the message names file, field and fix."""


class InvariantError(UpisimError):
    """A broken invariant (conservation, overdraft, state machine): the run is wrong."""
