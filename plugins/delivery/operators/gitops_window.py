"""The sync window gate, the first task of a sync (:class:`SyncWindowOperator`).

The rules are ``include.gitops.windows``'s. A run that an Asset event started (a push, drift)
waits in the triggerer until its window opens, holding no worker slot, then syncs; a manual run
(UI, REST API, a hand-over) in a closed window fails at once, naming the window and the fix.
"""

from __future__ import annotations

from typing import Any, Sequence

from airflow.sdk import BaseOperator

from delivery.failures import step


class SyncWindowOperator(BaseOperator):
    """Let the sync go on only inside its sync windows.

    :param windows: the ``sync_windows`` param (templated): ``[{kind, schedule, duration, manual_sync}]``.
    :param override: the ``override_sync_window`` param (templated): sync now whatever the windows say.
    """

    template_fields: Sequence[str] = ("windows", "override")
    ui_color = "#fff3e0"

    def __init__(self, *, windows: Any = "{{ params.sync_windows }}", override: Any = "{{ params.override_sync_window }}",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.windows = windows
        self.override = override

    @step("sync_window")
    def execute(self, context: Any, event: Any = None) -> str:
        from airflow.providers.standard.triggers.temporal import DateTimeTrigger

        from include.common.errors import InputError
        from include.gitops.windows import parse_windows, verdict

        windows = parse_windows(self.windows)
        manual = str(context["dag_run"].run_type).lower().endswith("manual")
        decided = verdict(windows, manual=manual, override=bool(self.override))
        if decided.allowed:
            print(f"sync window: open{' (' + decided.reason + ')' if decided.reason else ''}")
            return decided.reason or "open"
        if manual:
            raise InputError("sync_windows", f"this sync is {decided.reason}",
                             "wait until then, or run it with override_sync_window=true")
        print(f"sync window: {decided.reason}; waiting (deferred) until it opens")
        # execute again when the trigger fires: a deny window may have opened meanwhile
        self.defer(trigger=DateTimeTrigger(moment=decided.opens_at), method_name="execute")
        return ""  # not reached: defer raises
