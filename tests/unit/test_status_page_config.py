"""``status_page.listen``: off by default, HOST:PORT checked at load time with the key path in the error."""

from __future__ import annotations

import pytest

from inboxd.config import load_config_text
from tests.unit.test_config import BASE, problems_of


def test_the_status_page_is_off_unless_configured() -> None:
    assert load_config_text(BASE).status_page.address is None


@pytest.mark.parametrize(("listen", "address"), [("127.0.0.1:8025", ("127.0.0.1", 8025)),
                                                 ("'[::1]:9000'", ("::1", 9000)),
                                                 ("localhost:0", ("localhost", 0))])
def test_listen_takes_host_and_port(listen: str, address: tuple[str, int]) -> None:
    config = load_config_text(BASE + f"status_page: {{listen: {listen}}}\n")
    assert config.status_page.address == address


@pytest.mark.parametrize("listen", ["8025", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", "example.com:80"])
def test_a_bad_listen_address_is_refused_with_its_key(listen: str) -> None:
    (problem,) = problems_of(BASE + f"status_page: {{listen: '{listen}'}}\n")
    assert "status_page.listen" in problem and ("HOST:PORT" in problem or "IP address" in problem), problem
