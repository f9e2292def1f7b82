"""One error type for bad input, so that every failure names the input, the problem and the fix."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from a user: a param, a file, a repo, a manifest.

    The message reads ``<what>: <problem>. Fix: <fix>`` so that the Airflow task log and the
    REST API caller both see what to change.
    """

    def __init__(self, what: str, problem: str, fix: str):
        self.what = what
        self.problem = problem
        self.fix = fix
        super().__init__(f"{what}: {problem}. Fix: {fix}")
