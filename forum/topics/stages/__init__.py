"""The repeated-topic job's stages, one module each, run in this order by
:mod:`forum.topics.job`:

1. :mod:`.load` reads what a run works on (threads of the window, stored
   suggestions, articles, earlier runs): the job's reading SQL.
2. :mod:`.analyse` turns threads into analysed, encoded documents (stored terms
   and vectors, computed once per text).
3. :mod:`.group` finds topics: all threads at once (a full run), or new threads
   joining stored suggestions and the rest grouped among themselves (an
   incremental run); centroids and article coverage.
4. :mod:`.reconcile` holds the suggestion state rules: which topic continues
   which stored suggestion, keep / expire / revive / reopen / cover, who leaves
   (removals stay remembered: removed threads are never loaded again).
5. :mod:`.rank` scores suggestions by what an article would save.
6. :mod:`.write` applies a reconciled plan in one transaction (conditional state
   changes, events, memberships) and refreshes counts and ranks.

Each stage takes and returns frozen dataclasses (the stored-suggestion records
are read fresh by the stage that needs them).
"""
