"""The durable state, as SQLAlchemy Core tables.

The database, not IMAP flags, is the source of truth for what was processed, promised,
scheduled and sent. Every change here needs an Alembic migration in ``migrations/versions``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Sequence,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from inboxd.store.types import UTCDateTime as DateTime

# Constraint names are explicit so that migrations behave the same on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Where ingest stands in each watched folder: UIDs up to last_uid (for this UIDVALIDITY) are done.
folder_state = Table(
    "folder_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("mailbox", String(100), nullable=False),
    Column("folder", String(500), nullable=False),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("last_uid", BigInteger, nullable=False, default=0),
    Column("last_poll_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("mailbox", "folder"),
)

# Case numbers on PostgreSQL (0008): concurrent writers each draw their own. SQLite, with one writer at a
# time, has no sequences and takes the highest number plus one (``repo.insert_case``).
case_number_seq = Sequence("case_number_seq", start=1001, metadata=metadata)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", Integer, nullable=False, unique=True),
    Column("mailbox", String(100), nullable=False),
    Column("status", String(32), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("language", String(16), nullable=False),
    Column("customer", String(320), nullable=False),
    Column("customer_name", String(500)),
    Column("subject", Text, nullable=False, default=""),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("first_response_at", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("last_activity_at", DateTime(timezone=True), nullable=False),
    # Threading by sender + normalised subject, and links between related cases (0002).
    Column("subject_key", String(500)),
    Column("linked_to", Integer),
    Column("unreachable_at", DateTime(timezone=True)),
    # Set by staff-note commands (0004).
    Column("assignee", String(320)),
    Column("snoozed_until", DateTime(timezone=True)),
    # Proactive updates (0005): who spoke last, the customer's UTC offset, opt-out, feedback.
    Column("last_customer_at", DateTime(timezone=True)),
    Column("last_staff_reply_at", DateTime(timezone=True)),
    Column("last_heard_at", DateTime(timezone=True)),  # the customer last got mail from us (any kind)
    Column("customer_utc_offset", Integer),  # minutes east of UTC, from the customer's Date header
    Column("updates_opted_out", Boolean, nullable=False, server_default="0"),
    Column("feedback_score", Integer),
    # Cadences a rule set for this case (0007): {"while_waiting_on_us": "off", …}.
    Column("update_overrides", JSON),
    # What rules gave the case (0012): tags (a JSON list) and the template set its mail comes from.
    Column("tags", JSON),
    Column("template_set", String(64)),
    Index("ix_cases_status", "status"),
    Index("ix_cases_customer", "customer"),
    Index("ix_cases_customer_subject_key", "customer", "subject_key"),
    Index("ix_cases_first_response_at_opened_at", "first_response_at", "opened_at"),
    Index("ix_cases_opened_at_first_response_at", "opened_at", "first_response_at"),  # the status page (0011)
    Index("ix_cases_status_number", "status", "number"),  # `cases list --status` (0012)
    Index("ix_cases_resolved_at_feedback_score", "resolved_at", "feedback_score"),  # `stats` (0012)
)

# Every message inboxd met: received, quarantined, or recognised as a duplicate of one it has.
messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", String(998), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("mailbox", String(100), nullable=False),
    Column("folder", String(500), nullable=False),
    Column("uidvalidity", BigInteger),
    Column("uid", BigInteger),
    Column("direction", String(8), nullable=False),  # in | out
    Column("kind", String(32), nullable=False),  # customer, staff, auto_reply, … or quarantined
    Column("status", String(16), nullable=False),  # processed | quarantined | retrying | resolved
    Column("case_id", Integer, ForeignKey("cases.id")),
    Column("from_addr", String(320)),
    Column("subject", Text),
    Column("sent_at", DateTime(timezone=True)),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("size", Integer, nullable=False),
    Column("reason", Text),
    Column("error", Text),
    Column("summary", JSON),
    Column("raw", LargeBinary),
    UniqueConstraint("message_id", "content_hash"),
    Index("ix_messages_message_id", "message_id"),
    Index("ix_messages_case_id", "case_id"),
    Index("ix_messages_from_addr_direction_sent_at", "from_addr", "direction", "sent_at"),  # sender burst (0012)
    Index("ix_messages_status", "status"),  # quarantine depth (0011)
    Index("ix_messages_kind", "kind"),  # messages by kind in /metrics (0011)
)

promises = Table(
    "promises",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("owner", String(320), nullable=False),  # "team" or a staff address
    Column("source", String(32), nullable=False),  # ack | reply | delay_notice
    Column("text", Text, nullable=False),
    Column("made_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),  # open | kept | broken | superseded
    Column("settled_at", DateTime(timezone=True)),
    # The message that made the promise (a staff reply): reminders are threaded to it (0003).
    Column("source_message_id", String(998)),
    # The prediction behind a team promise, for calibrating later ones (0006).
    Column("predicted_bh", Float),
    Column("spread_bh", Float),
    Index("ix_promises_state_due_at", "state", "due_at"),
    Index("ix_promises_case_id", "case_id"),
    Index("ix_promises_owner_made_at", "owner", "made_at"),
    # The status page's and the report's windows, covering (0011).
    Index("ix_promises_made_at_owner_source_state_due_at", "made_at", "owner", "source", "state", "due_at"),
)

scheduled = Table(
    "scheduled",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id")),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("payload", JSON),
    # What makes this item unique ("reminder:42"): scheduling twice is a no-op (0003).
    Column("key", String(200), unique=True),
    Column("claimed_by", String(100)),
    Column("claimed_until", DateTime(timezone=True)),
    Column("done_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_scheduled_done_at_due_at", "done_at", "due_at"),
    Index("ix_scheduled_case_id", "case_id"),  # (0012)
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("message_id", String(998), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id")),
    Column("mailbox", String(100), nullable=False),
    Column("mail_from", String(320), nullable=False),
    Column("rcpt_to", JSON, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("state", String(16), nullable=False),  # pending | sending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("copy_state", String(16)),  # None (no copy wanted) | pending | done | failed
    # The one address a message goes to (None for several): acknowledgements are limited per
    # recipient, not only per sender, so a forged Reply-To cannot aim them at someone (0010).
    Column("recipient", String(320)),
    # The daemon whose claim this is while state is "sending" (0012): only it may complete the message.
    Column("claimed_by", String(200)),
    Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    Index("ix_outbox_recipient_kind_created_at", "recipient", "kind", "created_at"),  # acks per recipient (0012)
    Index("ix_outbox_kind_created_at", "kind", "created_at"),
    Index("ix_outbox_kind_state", "kind", "state"),  # acknowledgements sent, in /metrics (0011)
    # A case's own mail, and a sender's acknowledgements through their cases (0012).
    Index("ix_outbox_case_id_kind_created_at", "case_id", "kind", "created_at"),
    Index("ix_outbox_copy_state_state", "copy_state", "state"),  # Sent copies still to file (0012)
)

# Addresses that bounced permanently: inboxd sends them nothing more until they write again (0002).
bounced_addresses = Table(
    "bounced_addresses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(320), nullable=False, unique=True),
    Column("bounced_at", DateTime(timezone=True), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id")),
    Column("status", String(32)),
    Column("message_ref", Integer, ForeignKey("messages.id")),
)

# Values an installation keeps for itself, such as the secret its Message-IDs are keyed with (0010).
# Never shown by a command and never logged.
meta = Table(
    "meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# Append-only audit of every decision: what `inboxd cases show` and stats read.
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id")),
    Column("message_ref", Integer, ForeignKey("messages.id")),
    Column("kind", String(64), nullable=False),
    Column("data", JSON),
    Index("ix_events_case_id", "case_id"),
)


# When inboxd first started watching each folder (before any login): with ``initial_sync: new`` the first sync
# takes the mail that arrived from then on, even if the first successful login came much later.
folder_watch_start = Table(
    "folder_watch_start",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("mailbox", String(100), nullable=False),
    Column("folder", String(500), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("mailbox", "folder"),
)

# What the running daemon last knew about each connection ("imap:<folder>" or "smtp" of a mailbox), written on
# change and on a heartbeat; ``inboxd status`` reads it from another process. An old updated_at means that the
# daemon (``node`` = host:pid) is gone or hung.
watch_status = Table(
    "watch_status",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("mailbox", String(100), nullable=False),
    Column("channel", String(600), nullable=False),
    Column("node", String(200), nullable=False),
    Column("up", Boolean, nullable=False),
    Column("mode", String(16)),  # idle | poll (IMAP)
    Column("last_poll_at", DateTime(timezone=True)),
    Column("error", Text),  # the current problem, None when fine
    Column("last_error", Text),  # the latest problem, kept after recovery
    Column("last_error_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("mailbox", "channel"),
)

# Daemons sharing a PostgreSQL database (0012): one row per running daemon (``name`` = host:pid/random), kept
# alive by its heartbeat. A row whose heartbeat is older than ``inboxd.service.nodes.LEASE_SECONDS`` is a daemon that
# is gone; its leases lapse at the same time.
nodes = Table(
    "nodes",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    Column("mailboxes", JSON, nullable=False),  # the mailboxes its configuration names
)

# Who holds what (0012): "mailbox:<name>" (its folders are watched by the holder alone) and "tick" (the one
# daemon that runs due work and delay notices). A lease lapses at expires_at unless its holder renews it;
# ``token`` grows with every new holder (a fencing token).
leases = Table(
    "leases",
    metadata,
    Column("name", String(300), primary_key=True),
    Column("holder", String(200)),
    Column("token", BigInteger, nullable=False, server_default="0"),
    Column("acquired_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True)),
)

# Running totals (0015), kept by triggers on cases, messages and outbox, so that `inboxd stats` reads a few rows
# instead of counting millions: "cases_status:<status>", "messages", "messages_status:<status>",
# "outbox_state:<state>". A total is the sum of its slots: on PostgreSQL each connection writes the slot of its
# backend (pid modulo 16), so that daemons inserting at once do not queue on one row; on SQLite the slot is 0.
counters = Table(
    "counters",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("slot", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False),
)
