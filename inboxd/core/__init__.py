"""The pure core: every decision inboxd makes, as functions of (input, state, config, now).

Nothing here touches a socket, a database, a file or the environment (``tests/unit/test_boundaries.py`` checks
it), so ``inboxd explain``, ``inboxd simulate`` and the tests run exactly the decisions the daemon runs.
"""
