"""The step kernel both paid and media pipelines run on: a ledger of steps, a runner, an observe hook.

``ledger`` keeps the per-step state in a row's ``steps`` JSON column, ``runner`` begins,
finishes and fails a step under the row's lock (and uploads what the steps rendered),
``observe`` lets a process time generations and uploads without touching the steps.
A pipeline (media jobs, submissions) plugs in through a :class:`runner.Adapter`.
"""
