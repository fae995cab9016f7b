"""The only place inboxd talks to mail servers. Library exceptions are translated to ``inboxd.errors``."""
