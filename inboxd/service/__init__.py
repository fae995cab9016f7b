"""The running service: the shell that gathers what the core needs, applies what it decides, and talks to the world.

``ingest`` (a message), ``duework`` (a tick) and ``outbox`` (sending) each read, call the core, and write;
``daemon`` wires them to the scheduler, signals and systemd.
"""
