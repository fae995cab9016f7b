"""inboxd: keeps a support team honest with its customers."""

__version__ = "0.1.0"
