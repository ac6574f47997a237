"""Collections (issue 6): strategies as data, champion/challenger, cases, queues,
promises to pay, and the STRATEGY step of the close of business.

Pure rules (no database, web or file I/O): :mod:`.states`, :mod:`.strategy`,
:mod:`.split`, :mod:`.promises`, :mod:`.planner`, :mod:`.assignment`.
Adapters: :mod:`.strategy_io` (YAML files), :mod:`.repository` and
:mod:`.service` (the database), :mod:`.step` (the COB step), :mod:`.kpis`.
"""
