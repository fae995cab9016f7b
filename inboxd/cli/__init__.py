"""``inboxd`` commands: thin shells over the core, the store and the service."""
