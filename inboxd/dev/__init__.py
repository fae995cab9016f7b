"""The rig, apart from the runtime: a local mail server (IMAP over Dovecot, an SMTP hub), a local OAuth server and
``inboxd demo``. The daemon never imports this package."""
