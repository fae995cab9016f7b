"""The exceptions inboxd raises, translated once at the edge.

    InboxdError
     ├── ConfigError        the configuration is invalid (carries every problem found)
     ├── SecretError        a secret named by the configuration cannot be read
     ├── TransientError     a server or the network failed; retry with backoff
     │    ├── ImapError
     │    │    └── FolderMissing  a watched folder does not exist (yet)
     │    ├── SmtpError
     │    ├── TemplateError  an admin's template fails to render: a fault of the configuration, not of
     │                       the message, so the message is retried once the templates are fixed
     │    └── StoreUnavailable   the database failed for a reason of its own (down, full, locked, read-only)
     │         └── WriteConflict  a concurrent writer won; the transaction is run again
     ├── AuthError          a server rejected our credentials; retrying will not help soon
     ├── PermanentSendError a server refused a message for good (5xx)
     └── DatabaseError      the database cannot be used: unreachable or failing (``inboxd.store.db``)
          ├── DatabaseConfigError  the database URL is invalid, or its driver is not installed
          ├── DatabaseReadOnly     the database file or its directory cannot be written
          ├── DatabaseMissing      a command that only reads found no inboxd database (and created none)
          └── DatabaseOutdated     the schema is at another revision than this inboxd's (``inboxd migrate``)

Only ``inboxd.transport`` imports imapclient and smtplib; it raises these instead. ``inboxd.store.repo.Store``
translates database failures that are not the fault of the data being written into ``StoreUnavailable``.
"""

from __future__ import annotations


class InboxdError(Exception):
    """Root of every error inboxd raises on purpose."""


class ConfigError(InboxdError):
    """The configuration is invalid.

    ``problems`` holds one human-readable line per problem, each starting with the key path.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems) if self.problems else "invalid configuration")


class SecretError(InboxdError):
    """A secret named by the configuration cannot be read."""


class TransientError(InboxdError):
    """A temporary failure: the caller retries with backoff."""


class ImapError(TransientError):
    """The IMAP server or the connection to it failed."""


class FolderMissing(ImapError):
    """A folder inboxd should watch does not exist on the server."""


class SmtpError(TransientError):
    """The SMTP server or the connection to it failed, or it answered 4xx."""


class TemplateError(TransientError):
    """A template failed to compile or render (``path:line: what``).

    Raised while handling a message or due work: the work is left undone and retried, because the
    templates are the configuration's, and a reload with fixed templates lets it succeed.
    """


class StoreUnavailable(TransientError):
    """The database failed for a reason of its own: unreachable, full, locked, read-only, an I/O error."""


class WriteConflict(StoreUnavailable):
    """A concurrent writer committed first (a unique or serialization conflict): run the transaction again."""


class AuthError(InboxdError):
    """A server rejected the credentials."""


class PermanentSendError(InboxdError):
    """The SMTP server refused a message permanently (5xx)."""


class DatabaseError(InboxdError):
    """The database cannot be used: unreachable, or failing; retrying later may help."""


class DatabaseConfigError(DatabaseError):
    """The database URL is invalid or names a backend whose driver is not installed."""


class DatabaseReadOnly(DatabaseError):
    """The database file, or the directory it should be created in, cannot be written."""


class DatabaseMissing(DatabaseError):
    """A read-only command found no inboxd database where the configuration points (none was created)."""


class DatabaseOutdated(DatabaseError):
    """The schema is at another revision than this version of inboxd expects."""
