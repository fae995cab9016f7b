"""The daemon's HTTP side: the status page, ``/metrics`` and ``/healthz`` (off unless ``status_page.listen``)."""
