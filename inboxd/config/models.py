"""The admin's ``inboxd.yaml`` as frozen pydantic models, with the validators behind every key."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, Self, TypeAlias, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    ModelWrapValidatorHandler,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    StringConstraints,
    Tag,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from inboxd.core.durations import Duration, Rate, parse_duration, parse_rate

Priority = Literal["urgent", "high", "normal", "low"]


Security = Literal["tls", "starttls", "none"]


WeeklyHoursSpec: TypeAlias = dict[str, str | list[str]]


Loc = tuple[str | int, ...]


INLINE_SECRET_MESSAGE = (
    "secrets are never written inline; use password_file, password_env or password_credential"
)


# Keys an admin might reach for when writing a secret inline; each gets the message above.
_INLINE_SECRET_KEYS = frozenset({"password", "passwd", "pass", "token", "access_token", "secret"})


_SECRET_KEYS = ("password_file", "password_env", "password_credential")


_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)


_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$")


_HOST = re.compile(r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?)$")


_SLUG = re.compile(r"^[a-z0-9_-]+$")


_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


_CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _fail(problems: Sequence[tuple[Loc, str]], input_value: object = None) -> NoReturn:
    """Raise one validation error per ``(location, message)``, relative to the model being validated.

    pydantic turns a ValidationError raised inside a validator into line errors and prefixes
    their locations, which lets a model-level check point at the exact key that is wrong.
    """
    details = [
        InitErrorDetails(type=PydanticCustomError("config", message), loc=loc, input=input_value)
        for loc, message in problems
    ]
    raise ValidationError.from_exception_data("inboxd configuration", details)


def _fail_on_duplicates(items: Sequence[Any], attributes: str | tuple[str, ...], section: str, message: str) -> None:
    """Report every item whose attribute repeats an earlier one's, at the repeat's own key path."""
    problems: list[tuple[Loc, str]] = []
    for attribute in (attributes,) if isinstance(attributes, str) else attributes:
        seen: dict[Any, int] = {}
        for index, item in enumerate(items):
            key = getattr(item, attribute)
            if key in seen:
                problems.append(((index, attribute), message.format(key=key, where=f"{section}[{seen[key]}]")))
            seen.setdefault(key, index)
    if problems:
        _fail(problems)


def _as_init_details(error: ErrorDetails) -> InitErrorDetails:
    """Turn a reported error back into one that can be raised again (message kept verbatim)."""
    return InitErrorDetails(
        type=PydanticCustomError(error["type"], error["msg"]), loc=error["loc"], input=error["input"]
    )


def _check_email(value: str) -> str:
    address = value.strip().lower()
    if not _EMAIL.match(address):
        raise ValueError(f"{value!r} is not an email address; write the bare address, e.g. alice@example.com")
    return address


def _check_domain(value: str) -> str:
    domain = value.strip().lower().lstrip("@")
    if not _DOMAIN.match(domain):
        raise ValueError(f"{value!r} is not a domain name, e.g. example.com")
    return domain


def _check_language(value: str) -> str:
    if not _LANGUAGE.match(value):
        raise ValueError(f"{value!r} is not a language code, e.g. en, de, pt-BR")
    return value


def _check_regex(value: str) -> str:
    from inboxd.core.patterns import compile_pattern

    compile_pattern(value)
    return value


def _dates_to_text(value: object) -> object:
    """Accept ``date`` objects (from Python callers) where the admin writes ``2026-12-24``."""
    if isinstance(value, list):
        return [item.isoformat() if isinstance(item, date) else item for item in value]
    return value


def _check_weekly_hours(value: object) -> WeeklyHoursSpec:
    """Validate a ``{days: ranges}`` mapping with the calendar's parser; keep the raw mapping."""
    if not isinstance(value, Mapping) or not value:
        raise ValueError('expected a mapping of days to opening times, e.g. {mon-fri: "09:00-17:00"}')
    spec: WeeklyHoursSpec = {}
    problems: list[tuple[Loc, str]] = []
    for key, ranges in value.items():
        if not isinstance(key, str):
            problems.append(((str(key),), "day names are text such as mon, mon-fri or sat"))
        elif isinstance(ranges, str):
            spec[key] = ranges
        elif isinstance(ranges, list) and all(isinstance(item, str) for item in ranges):
            spec[key] = list(ranges)
        else:
            problems.append(((key,), 'expected time ranges such as "09:00-17:00" or a list of them'))
    if problems:
        _fail(problems, value)

    from inboxd.core.calendar import parse_weekly_hours

    try:
        parse_weekly_hours(spec)
    except ValueError as exc:
        # Point at the entry that is wrong when one is wrong on its own (the line number follows).
        per_day: list[tuple[Loc, str]] = []
        for key, ranges in spec.items():
            try:
                parse_weekly_hours({key: ranges})
            except ValueError as entry_exc:
                per_day.append(((key,), str(entry_exc)))
        if per_day:
            _fail(per_day, value)
        raise ValueError(str(exc)) from None
    return spec


def _check_date_ranges(items: list[str]) -> list[str]:
    """Validate dates and ranges (``2026-12-24``, ``2026-12-21..2026-12-31``) with the calendar's parser."""
    from inboxd.core.calendar import parse_date_ranges

    try:
        parse_date_ranges(items)
    except ValueError as exc:
        per_item: list[tuple[Loc, str]] = []
        for index, item in enumerate(items):
            try:
                parse_date_ranges([item])
            except ValueError as item_exc:
                per_item.append(((index,), str(item_exc)))
        if per_item:
            _fail(per_item, items)
        raise ValueError(str(exc)) from None
    return items


def _to_duration(value: object) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            f"invalid duration {value!r}: add a unit, e.g. {value}s, {value}m, {value}h or {value}bd"
        )
    raise ValueError("invalid duration: expected text such as 30m, 4h, 2d, 6bh or 2bd")


def _to_rate(value: object) -> Rate:
    if isinstance(value, Rate):
        return value
    if isinstance(value, str):
        return parse_rate(value)
    raise ValueError("invalid rate: expected COUNT/DURATION such as 5/1d or 3/10m")


def _calendar_only(value: Duration) -> Duration:
    if value.is_business:
        raise ValueError(f"{value} is business time; use calendar time here (s, m, h, d)")
    return value


# Durations and rates are written as text in YAML and become value objects; they dump back as text.
DurationField = Annotated[
    Duration,
    PlainValidator(_to_duration),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string"}),
]


CalendarDurationField = Annotated[DurationField, AfterValidator(_calendar_only)]


def _to_duration_or_off(value: object) -> Duration | Literal["off"]:
    if value is False or (isinstance(value, str) and value.strip().lower() in ("off", "never", "no")):
        return "off"
    return _to_duration(value)


# A cadence that can be switched off: "1bd", or "off".
CadenceField = Annotated[
    Duration | Literal["off"],
    PlainValidator(_to_duration_or_off),
    PlainSerializer(str, return_type=str),
    # YAML reads an unquoted off as false.
    WithJsonSchema({"anyOf": [{"type": "string"}, {"const": False}]}),
]


RateField = Annotated[
    Rate, PlainValidator(_to_rate), PlainSerializer(str, return_type=str), WithJsonSchema({"type": "string"})
]


WeeklyHoursField = Annotated[
    WeeklyHoursSpec,
    PlainValidator(_check_weekly_hours),
    WithJsonSchema({"type": "object", "additionalProperties": {"type": ["string", "array"]}}),
]


# Dates and ranges ("2026-12-24", "2026-12-21..2026-12-31"), kept as written, checked by the calendar's parser.
DateRangesField = Annotated[list[str], BeforeValidator(_dates_to_text), AfterValidator(_check_date_ranges)]


EmailField = Annotated[str, AfterValidator(_check_email)]


DomainField = Annotated[str, AfterValidator(_check_domain)]


RegexField = Annotated[str, AfterValidator(_check_regex)]


LanguageField = Annotated[str, AfterValidator(_check_language)]


def _is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower().rstrip(".")
    if name in ("localhost", "localhost.localdomain") or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _resolve_path(value: str | None, info: ValidationInfo) -> str | None:
    """Relative paths in the config are relative to the config file's directory."""
    if value is None:
        return None
    path = Path(value).expanduser()
    base_dir = info.context.get("base_dir") if isinstance(info.context, Mapping) else None
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return str(path)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HolidaysConfig(_Model):
    """Public holidays from the ``holidays`` package plus the team's own closed days."""

    country: str | None = None
    subdivision: str | None = None
    extra: DateRangesField = Field(default_factory=list)

    @field_validator("country")
    @classmethod
    def _country_upper(cls, value: str | None) -> str | None:
        return value.strip().upper() if value is not None else None

    @model_validator(mode="after")
    def _known_to_holidays(self) -> Self:
        if self.country is None:
            if self.subdivision is not None:
                _fail(
                    [(("subdivision",), "a subdivision needs a country, e.g. country: DE")], self.subdivision
                )
            return self
        import holidays

        supported: dict[str, list[str]] = holidays.list_supported_countries()
        if self.country not in supported:
            _fail(
                [
                    (
                        ("country",),
                        f"unknown country {self.country!r}: use a two-letter ISO code the holidays package "
                        "knows, e.g. DE, AT, CH, GB, US",
                    )
                ],
                self.country,
            )
        subdivision = self.subdivision
        known = supported[self.country]
        by_upper = {code.upper(): code for code in known}
        if subdivision is not None and subdivision.strip().upper() in by_upper:
            # Store the canonical spelling ("be" -> "BE"); the model is frozen, so set it directly.
            subdivision = by_upper[subdivision.strip().upper()]
            object.__setattr__(self, "subdivision", subdivision)
        try:
            holidays.country_holidays(self.country, subdiv=subdivision)
        except (NotImplementedError, ValueError, KeyError):
            listed = ", ".join(known) if known else "none"
            _fail(
                [
                    (
                        ("subdivision",),
                        f"unknown subdivision {subdivision!r} for {self.country}; known: {listed}",
                    )
                ],
                subdivision,
            )
        return self

    @cached_property
    def extra_dates(self) -> frozenset[date]:
        """The ``extra`` closed days, ranges expanded."""
        from inboxd.core.calendar import parse_date_ranges

        return parse_date_ranges(self.extra)


class StaffMember(_Model):
    """One person answering customers; ``hours`` overrides the team's business hours for them."""

    email: EmailField
    name: str | None = None
    role: Literal["lead", "agent"] = "agent"
    hours: WeeklyHoursField | None = None
    absent: DateRangesField = Field(default_factory=list)
    # The language inboxd writes to this person in (reminders, escalations, digests); else team.staff_language.
    language: LanguageField | None = None

    @cached_property
    def weekly_hours(self) -> dict[int, tuple[tuple[time, time], ...]] | None:
        """Parsed ``hours`` (weekday 0 = Monday), or None when the team's hours apply."""
        if self.hours is None:
            return None
        from inboxd.core.calendar import parse_weekly_hours

        return parse_weekly_hours(self.hours)

    @cached_property
    def absent_dates(self) -> frozenset[date]:
        from inboxd.core.calendar import parse_date_ranges

        return parse_date_ranges(self.absent)


class TeamConfig(_Model):
    """Who the team is and when it works."""

    name: str = "Support"
    timezone: str
    business_hours: WeeklyHoursField
    holidays: HolidaysConfig = Field(default_factory=HolidaysConfig)
    staff: list[StaffMember] = Field(default_factory=list)
    staff_domains: list[DomainField] = Field(default_factory=list)
    # Authentication-Results from these servers prove a staff sender's identity, and their DMARC
    # failures keep acknowledgements from going to forged senders.
    trusted_authserv_ids: list[str] = Field(default_factory=list)
    # Microsoft 365: "X-MS-Exchange-Organization-AuthAs: Internal" proves a staff sender (Exchange
    # Online sets it for mail from inside the organisation and removes copies arriving from outside).
    trusted_exchange_org_auth: bool = False
    # The language of inboxd's mail to staff who set none of their own (staff[].language).
    staff_language: LanguageField = "en"

    def language_for(self, addresses: Sequence[str]) -> str:
        """The language of a mail to staff: the first recipient's own, else ``staff_language``.

        A mail to several people is written once, in the first one's language.
        """
        by_email = {member.email.lower(): member.language for member in self.staff}
        first = by_email.get(addresses[0].lower()) if addresses else None
        return first or self.staff_language

    @field_validator("timezone")
    @classmethod
    def _timezone_known(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}: use an IANA name such as Europe/Berlin or America/New_York"
            ) from None
        return value

    @field_validator("staff")
    @classmethod
    def _staff_unique(cls, value: list[StaffMember]) -> list[StaffMember]:
        _fail_on_duplicates(value, "email", "staff", "{key} is listed twice (also {where})")
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def weekly_hours(self) -> dict[int, tuple[tuple[time, time], ...]]:
        """Parsed ``business_hours`` (weekday 0 = Monday)."""
        from inboxd.core.calendar import parse_weekly_hours

        return parse_weekly_hours(self.business_hours)

    @property
    def leads(self) -> list[StaffMember]:
        return [member for member in self.staff if member.role == "lead"]

    def staff_member(self, email: str) -> StaffMember | None:
        address = email.strip().lower()
        return next((member for member in self.staff if member.email == address), None)


class _SecretOwner(_Model):
    """A server login whose secret lives in a file, an environment variable or a systemd credential."""

    password_file: str | None = None
    password_env: str | None = None
    password_credential: str | None = None

    # Set by Config so that secret errors can name the key path (``mailboxes[0].imap``).
    _key_path: str = PrivateAttr(default="")

    @model_validator(mode="wrap")
    @classmethod
    def _no_inline_secrets(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        if not isinstance(data, Mapping):
            return handler(data)
        inline = [key for key in data if key in _INLINE_SECRET_KEYS]
        if not inline:
            return handler(data)
        # Report the inline secret and everything else wrong with the section, but never its value.
        details = [
            InitErrorDetails(
                type=PydanticCustomError("secret_inline", INLINE_SECRET_MESSAGE), loc=(key,), input="***"
            )
            for key in inline
        ]
        try:
            handler({key: value for key, value in data.items() if key not in inline})
        except ValidationError as exc:
            details += [
                _as_init_details(error) for error in exc.errors() if error["type"] != "secret_missing"
            ]
        raise ValidationError.from_exception_data(cls.__name__, details)

    @field_validator("password_file")
    @classmethod
    def _password_file_path(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _resolve_path(value, info)

    @field_validator("password_env")
    @classmethod
    def _password_env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name, e.g. SMTP_PASSWORD")
        return value

    @field_validator("password_credential")
    @classmethod
    def _credential_name(cls, value: str | None) -> str | None:
        if value is not None and (not value or "/" in value or value in (".", "..")):
            raise ValueError(f"{value!r} is not a credential name (the NAME of LoadCredential=NAME:PATH)")
        return value

    @property
    def secret_keys(self) -> list[str]:
        """The ``password_*`` keys that are set."""
        return [key for key in _SECRET_KEYS if getattr(self, key) is not None]

    @property
    def key_path(self) -> str:
        return self._key_path or type(self).__name__.removesuffix("Config").lower()

    def _check_one_secret(self, required: bool, why: str) -> None:
        keys = self.secret_keys
        if len(keys) > 1:
            _fail([((key,), f"set only one of {', '.join(_SECRET_KEYS)}") for key in keys[1:]])
        if required and not keys:
            details = [
                InitErrorDetails(
                    type=PydanticCustomError(
                        "secret_missing", f"{why}: set password_file, password_env or password_credential"
                    ),
                    loc=(),
                    input="***",
                )
            ]
            raise ValidationError.from_exception_data(type(self).__name__, details)


def _default_port(data: Any, ports: Mapping[str, int], default_security: str) -> Any:
    """Fill in the port from the security mode when the admin left it out."""
    if isinstance(data, Mapping) and data.get("port") is None:
        security = data.get("security", default_security)
        return {**data, "port": ports.get(security, ports[default_security])}
    return data


def _check_security(host: str, security: str) -> None:
    if security == "none" and not _is_loopback(host):
        _fail(
            [
                (
                    ("security",),
                    f"security none sends the password in clear text and is allowed only for a loopback "
                    f"host (localhost, 127.0.0.1, ::1), not {host}; use tls or starttls",
                )
            ],
            security,
        )


def _check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(f"{value!r}: use lower-case letters, digits, - and _ only, e.g. support")
    return value


def _check_host(value: str) -> str:
    host = value.strip()
    if not host or not _HOST.match(host):
        raise ValueError(f"{value!r} is not a host name; write only the name, e.g. mail.example.com")
    return host


HostField = Annotated[str, AfterValidator(_check_host)]


PortField = Annotated[int, Field(ge=1, le=65535)]


class FoldersConfig(_Model):
    inbox: str = Field(default="INBOX", min_length=1)
    # The shared mailbox's Sent folder: staff replies sent from it are read from here.
    sent: str | None = Field(default=None, min_length=1)


class ImapConfig(_SecretOwner):
    host: HostField
    port: PortField = 993
    security: Security = "tls"
    username: str = Field(min_length=1)
    # With oauth2 the secret is an OAuth 2.0 access token, used with SASL XOAUTH2.
    oauth2: bool = False
    folders: FoldersConfig = Field(default_factory=FoldersConfig)
    idle: bool = True
    # A folder seen for the first time: "new" processes the mail arriving from inboxd's first start on (recorded
    # before any login), "all" every message.
    initial_sync: Literal["new", "all"] = "new"
    # Mail that had arrived this long before inboxd's first start (imported history) gets a case but no
    # acknowledgement.
    acknowledge_max_age: CalendarDurationField = Duration(3, "d")
    poll_interval: CalendarDurationField = Duration(60, "s")
    timeout: CalendarDurationField = Duration(30, "s")
    verify_tls: bool = True
    ca_file: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _port_from_security(cls, data: Any) -> Any:
        return _default_port(data, {"tls": 993, "starttls": 143, "none": 143}, "tls")

    @field_validator("poll_interval")
    @classmethod
    def _poll_not_too_often(cls, value: Duration) -> Duration:
        if value.as_timedelta().total_seconds() < 5:
            raise ValueError(f"{value} is too often; poll at most every 5s")
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_file_path(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _resolve_path(value, info)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_security(self.host, self.security)
        # Required unless the mailbox logs in with OAuth (``auth``): MailboxConfig checks that.
        self._check_one_secret(False, "the IMAP login needs a secret")
        return self


class SmtpConfig(_SecretOwner):
    host: HostField
    port: PortField = 587
    security: Security = "starttls"
    username: str | None = Field(default=None, min_length=1)
    # With oauth2 the secret is an OAuth 2.0 access token, used with SASL XOAUTH2.
    oauth2: bool = False
    timeout: CalendarDurationField = Duration(30, "s")
    verify_tls: bool = True
    ca_file: str | None = None
    # File a copy of what inboxd sends in the IMAP sent folder (imap.folders.sent).
    save_copy: bool = False

    @model_validator(mode="before")
    @classmethod
    def _port_from_security(cls, data: Any) -> Any:
        return _default_port(data, {"tls": 465, "starttls": 587, "none": 25}, "starttls")

    @field_validator("ca_file")
    @classmethod
    def _ca_file_path(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _resolve_path(value, info)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_security(self.host, self.security)
        if self.username is None and self.secret_keys:
            _fail([((key,), "a password needs a username") for key in self.secret_keys])
        self._check_one_secret(self.username is not None, "an SMTP username needs a secret")
        return self


OAuthProvider = Literal["microsoft", "google", "generic"]


class AuthConfig(_Model):
    """OAuth 2.0 for the mailbox's IMAP and SMTP logins (``mailboxes[].auth``).

    The client secret (for ``google``: the service account's JSON key) lives in a file, an environment variable
    or a systemd credential, like every other secret. ``flow: app`` uses client credentials (or the Google
    service account); ``flow: delegated`` uses the refresh token that ``inboxd auth login MAILBOX`` stored.
    """

    type: Literal["oauth2"]
    provider: OAuthProvider
    flow: Literal["app", "delegated"] = "app"
    client_id: str | None = Field(default=None, min_length=1)
    tenant: str | None = Field(default=None, min_length=1)
    client_secret_file: str | None = None
    client_secret_env: str | None = None
    client_secret_credential: str | None = None
    # Microsoft only: a certificate instead of a secret (PEM private key and its SHA-1 thumbprint).
    certificate_file: str | None = None
    certificate_thumbprint: str | None = Field(default=None, min_length=1)
    scopes: list[str] = Field(default_factory=list)
    token_endpoint: str | None = Field(default=None, pattern=r"^https?://")
    device_endpoint: str | None = Field(default=None, pattern=r"^https?://")
    # The account the token is for; defaults to imap.username.
    username: str | None = Field(default=None, min_length=1)
    imap_mechanism: Literal["xoauth2", "oauthbearer"] = "xoauth2"

    _key_path: str = PrivateAttr(default="auth")

    @field_validator("client_secret_file", "certificate_file")
    @classmethod
    def _secret_paths(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _resolve_path(value, info)

    @field_validator("client_secret_env")
    @classmethod
    def _secret_env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name, e.g. OAUTH_CLIENT_SECRET")
        return value

    @property
    def secret_keys(self) -> list[str]:
        return [key for key in ("client_secret_file", "client_secret_env", "client_secret_credential")
                if getattr(self, key) is not None]

    @property
    def key_path(self) -> str:
        return self._key_path

    @model_validator(mode="after")
    def _complete(self) -> Self:
        problems: list[tuple[Loc, str]] = []
        keys = self.secret_keys
        problems += [((key,), "set only one of client_secret_file, client_secret_env, client_secret_credential")
                     for key in keys[1:]]
        if self.provider != "microsoft" and (self.certificate_file or self.certificate_thumbprint):
            problems.append((("certificate_file",), "a certificate is for provider microsoft only"))
        if (self.certificate_file is None) != (self.certificate_thumbprint is None):
            problems.append((("certificate_thumbprint",), "a certificate needs certificate_file and "
                                                           "certificate_thumbprint"))
        if self.provider in ("microsoft", "generic") and self.client_id is None:
            problems.append((("client_id",), f"provider {self.provider} needs client_id"))
        if self.provider == "microsoft":
            if self.tenant is None:
                problems.append((("tenant",), "provider microsoft needs tenant (the directory ID or domain)"))
            if self.flow == "app" and not keys and self.certificate_file is None:
                problems.append(((), "app-only access needs client_secret_file, client_secret_env, "
                                     "client_secret_credential or certificate_file"))
        elif self.provider == "google":
            if self.flow != "app":
                problems.append((("flow",), "provider google supports flow app (a service account) only"))
            if not keys:
                problems.append(((), "provider google needs the service account's JSON key in "
                                     "client_secret_file, client_secret_env or client_secret_credential"))
        else:
            if self.token_endpoint is None:
                problems.append((("token_endpoint",), "provider generic needs token_endpoint"))
            if self.flow == "app" and not keys:
                problems.append(((), "client credentials need client_secret_file, client_secret_env or "
                                     "client_secret_credential"))
        if problems:
            _fail(problems)
        return self


class MailboxConfig(_Model):
    name: Annotated[str, AfterValidator(_check_slug)]
    address: EmailField
    imap: ImapConfig
    smtp: SmtpConfig
    auth: AuthConfig | None = None

    @model_validator(mode="after")
    def _logins(self) -> Self:
        if self.auth is None and not self.imap.secret_keys:
            details = [InitErrorDetails(type=PydanticCustomError(
                "secret_missing", "the IMAP login needs a secret: set password_file, password_env or "
                                  "password_credential, or auth (OAuth 2.0)"), loc=("imap",), input="***")]
            raise ValidationError.from_exception_data(type(self).__name__, details)
        if self.auth is not None:
            problems: list[tuple[Loc, str]] = []
            if self.imap.secret_keys or self.imap.oauth2:
                problems.append((("imap", "oauth2" if self.imap.oauth2 else self.imap.secret_keys[0]),
                                 "the mailbox logs in with auth (OAuth 2.0): remove the IMAP password/oauth2"))
            if self.smtp.secret_keys or self.smtp.oauth2:
                problems.append((("smtp", "oauth2" if self.smtp.oauth2 else self.smtp.secret_keys[0]),
                                 "the mailbox logs in with auth (OAuth 2.0): remove the SMTP password/oauth2"))
            if problems:
                _fail(problems)
        if self.smtp.oauth2 and not self.smtp.secret_keys:
            _fail([(("smtp", "oauth2"), "smtp.oauth2 needs username and a token in password_file, password_env "
                                        "or password_credential; better: use auth (OAuth 2.0)")], True)
        return self

    @property
    def oauth_username(self) -> str:
        """The account OAuth tokens are for: ``auth.username``, else the IMAP username."""
        return (self.auth.username if self.auth is not None else None) or self.imap.username

    @model_validator(mode="after")
    def _save_copy_needs_sent_folder(self) -> Self:
        if self.smtp.save_copy and self.imap.folders.sent is None:
            _fail(
                [(("smtp", "save_copy"), "save_copy needs a sent folder: set imap.folders.sent, e.g. Sent")],
                True,
            )
        return self


_DEFAULT_FALLBACK: dict[Priority, Duration] = {
    "urgent": Duration(4, "h"),
    "high": Duration(1, "bd"),
    "normal": Duration(2, "bd"),
    "low": Duration(5, "bd"),
}


class PromisesConfig(_Model):
    # The share of promises the estimator aims to keep; it pads its estimate to reach it.
    target_kept_rate: float = Field(default=0.95, ge=0.5, le=0.999)
    # Used while there is too little history to estimate from; missing priorities use the defaults.
    fallback: dict[Priority, DurationField] = Field(default_factory=lambda: dict(_DEFAULT_FALLBACK))

    @field_validator("fallback")
    @classmethod
    def _fill_fallback(cls, value: dict[Priority, Duration]) -> dict[Priority, Duration]:
        return {**_DEFAULT_FALLBACK, **value}


class UpdateCadence(_Model):
    """Overrides of the update cadence, per priority (``updates.by_priority``) or per rule (``set.updates``).

    A key left out keeps the value it overrides; ``off`` switches that kind of mail off.
    """

    while_waiting_on_us: CadenceField | None = None
    nudge_customer_after: CadenceField | None = None
    resolve_after: CadenceField | None = None
    feedback: bool | None = None

    def as_overrides(self) -> dict[str, str | bool]:
        return {key: value if isinstance(value, bool) else str(value)
                for key, value in self.model_dump(exclude_none=True).items()}


class UpdatesConfig(_Model):
    while_waiting_on_us: CadenceField = Duration(1, "bd")
    delay_notice_before: DurationField = Duration(2, "h")
    nudge_customer_after: CadenceField = Duration(3, "bd")
    resolve_after: CadenceField = Duration(7, "bd")
    feedback: bool = True
    # After a staff note's "#waiting <who> until <when>": the customer's update this long after <when>
    # if staff have not written by then.
    after_waiting: DurationField = Duration(2, "bh")
    by_priority: dict[Priority, UpdateCadence] = Field(default_factory=dict)


class RemindersConfig(_Model):
    lead_time: DurationField = Duration(2, "h")
    # "lead" (every staff member with role lead) or one staff member's email.
    escalate_to: str = "lead"
    digest_at: str = "08:30"

    @field_validator("escalate_to")
    @classmethod
    def _lead_or_email(cls, value: str) -> str:
        if value.strip().lower() == "lead":
            return "lead"
        try:
            return _check_email(value)
        except ValueError:
            raise ValueError(f"{value!r}: use lead or a staff member's email") from None

    @field_validator("digest_at", mode="before")
    @classmethod
    def _clock_time(cls, value: object) -> object:
        if isinstance(value, str):
            match = _CLOCK_TIME.match(value.strip())
            if match:
                return f"{int(match.group(1)):02d}:{match.group(2)}"
        if isinstance(value, time):
            return value.strftime("%H:%M")
        raise ValueError(f'{value!r} is not a time of day; write HH:MM, e.g. "08:30"')

    @property
    def digest_time(self) -> time:
        hour, minute = self.digest_at.split(":")
        return time(int(hour), int(minute))


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ReportsConfig(_Model):
    """The weekly report mail to the leads: ``weekly_at: "mon 08:00"`` (team timezone); off unless set."""

    weekly_at: str | None = None

    @field_validator("weekly_at", mode="before")
    @classmethod
    def _day_and_time(cls, value: object) -> object:
        if value is None:
            return None
        if isinstance(value, str):
            day, _, clock = value.strip().lower().partition(" ")
            match = _CLOCK_TIME.match(clock.strip())
            if match and (day in _WEEKDAYS or day in _WEEKDAY_NAMES):
                return f"{day[:3]} {int(match.group(1)):02d}:{match.group(2)}"
        raise ValueError(f'{value!r} is not a day of the week and a time; write e.g. "mon 08:00"')

    @property
    def weekly(self) -> tuple[int, time] | None:
        """(weekday, 0 = Monday; time of day) of the weekly report, or None when it is off."""
        if self.weekly_at is None:
            return None
        day, clock = self.weekly_at.split(" ")
        hour, minute = clock.split(":")
        return _WEEKDAYS.index(day), time(int(hour), int(minute))


class LoopGuardConfig(_Model):
    # Per sender (From) and, with the same count and period, per address the ack goes to (Reply-To).
    acks_per_sender: RateField = Rate(5, Duration(1, "d"))
    sender_burst: RateField = Rate(3, Duration(10, "m"))
    # All acknowledgements together; beyond it none, and staff are told once per period.
    acks_total: RateField = Rate(200, Duration(1, "h"))


class CasesConfig(_Model):
    # How the case number appears in subjects; {number} is replaced.
    subject_token: str = "[#{number}]"
    reopen_within: DurationField = Duration(14, "d")
    thread_window: DurationField = Duration(3, "d")
    message_id_domain: DomainField | None = None
    default_priority: Priority = "normal"
    default_language: LanguageField = "en"
    # The languages the team answers customers in. A customer writing in one of them is answered in it;
    # in any other, in default_language. Unset: the languages inboxd ships templates for.
    languages: list[LanguageField] | None = None

    @field_validator("languages")
    @classmethod
    def _languages_listed_once(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("list at least one language, e.g. [en, de], or leave cases.languages out")
        seen: set[str] = set()
        for language in value:
            if language.lower() in seen:
                raise ValueError(f"{language!r} is listed twice")
            seen.add(language.lower())
        return value

    @model_validator(mode="after")
    def _default_is_served(self) -> Self:
        if self.languages is not None and self.default_language.lower() not in {x.lower() for x in self.languages}:
            _fail([(("default_language",), f"{self.default_language!r} is not one of cases.languages "
                                           f"({', '.join(self.languages)}): add it there, or pick one of them")])
        return self

    def served_languages(self, available: Sequence[str] | None = None) -> tuple[str, ...]:
        """The languages customers are answered in: ``languages``; unset, the default and the ``available``
        ones (the languages the template directory has an acknowledgement in; None: those inboxd ships)."""
        if self.languages is not None:
            return tuple(self.languages)
        if available is None:
            from inboxd.core.language import SHIPPED_LANGUAGES

            available = SHIPPED_LANGUAGES
        return tuple(dict.fromkeys((self.default_language, *available)))

    @field_validator("subject_token")
    @classmethod
    def _token_has_number(cls, value: str) -> str:
        if "{number}" not in value:
            raise ValueError(f"{value!r} must contain {{number}}, e.g. [#{{number}}]")
        try:
            value.format(number=1)
        except (KeyError, IndexError, ValueError):
            raise ValueError(f"{value!r}: only {{number}} may appear in braces") from None
        return value

    def format_subject_token(self, number: int) -> str:
        return self.subject_token.format(number=number)

    @cached_property
    def subject_token_pattern(self) -> re.Pattern[str]:
        """Finds the token in a subject; group ``number`` is the case number."""
        before, _, after = self.subject_token.partition("{number}")
        return re.compile(re.escape(before) + r"(?P<number>\d+)" + re.escape(after))


class TextMatch(_Model):
    """A value matched without regular expressions: ``{contains: …}`` or ``{equals: …}``, ignoring case.

    A plain string in a match is a regular expression (searched anywhere); this form is for text that
    contains regex characters (``+``, ``.``, ``(``) and should be taken as written.
    """

    contains: str | None = Field(default=None, min_length=1)
    equals: str | None = None
    regex: RegexField | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [name for name in ("contains", "equals", "regex") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("write exactly one of contains, equals or regex")
        return self


def _pattern_form(value: Any) -> str:
    return "regex" if isinstance(value, str) else "text"


# A regular expression (searched anywhere, RE2 syntax), or {contains: …} / {equals: …} for plain text.
TextPattern: TypeAlias = Annotated[
    Annotated[RegexField, Tag("regex")] | Annotated[TextMatch, Tag("text")], Discriminator(_pattern_form)
]


MessageKind = Literal["customer", "staff", "staff_note", "auto_reply", "bounce", "list"]


def _check_time_of_week(value: str) -> str:
    from inboxd.core.patterns import parse_time_of_week

    parse_time_of_week(value)
    return value.strip()


TimeOfWeekField = Annotated[str, AfterValidator(_check_time_of_week)]


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


_KIND_SCHEMA = {"enum": list(get_args(MessageKind)), "type": "string"}


_ONE_OR_MANY_KINDS = {"anyOf": [_KIND_SCHEMA, {"type": "array", "items": _KIND_SCHEMA}]}


_ONE_OR_MANY_TEXTS = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}


class RuleMatch(_Model):
    """What a rule matches. Every condition given must hold; ``{}`` matches every message.

    Text conditions are a regular expression (RE2 syntax, searched anywhere, case-sensitive unless it
    starts with ``(?i)``) or ``{contains: …}`` / ``{equals: …}`` for plain text (case ignored).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    subject: TextPattern | None = Field(default=None, description="the subject")
    from_: TextPattern | None = Field(default=None, alias="from",
                                      description='the sender\'s address, or "Name <address>"')
    to: TextPattern | None = Field(default=None, description="any recipient (To or Cc)")
    cc: TextPattern | None = Field(default=None, description="any Cc recipient")
    body: TextPattern | None = Field(default=None, description="the message's text (HTML-only mail as text)")
    header: dict[str, TextPattern] = Field(
        default_factory=dict, description="header name → pattern; a header the message lacks never matches")
    mailbox: TextPattern | None = Field(default=None, description="the name of the mailbox it came to")
    kind: Annotated[list[MessageKind], BeforeValidator(_one_or_many), WithJsonSchema(_ONE_OR_MANY_KINDS)] | None \
        = Field(default=None, description="what inboxd took the message for before any rule: one kind or a list")
    language: TextPattern | None = Field(
        default=None, description="the message's language as detected, else its Content-Language")
    has_attachment: bool | None = Field(default=None, description="true: only with, false: only without")
    time: Annotated[list[TimeOfWeekField], BeforeValidator(_one_or_many), WithJsonSchema(_ONE_OR_MANY_TEXTS)] \
        | None = Field(default=None, description='when it arrived, in team.timezone: "mon-fri 18:00-08:00", '
                                                 '"sat,sun", or a list of them (any)')
    any_: list[RuleMatch] | None = Field(default=None, alias="any", min_length=1,
                                         description="matches when at least one of these matches")
    all_: list[RuleMatch] | None = Field(default=None, alias="all", min_length=1,
                                         description="matches when every one of these matches")
    not_: RuleMatch | None = Field(default=None, alias="not", description="matches when this does not")

    def is_universal(self) -> bool:
        """Matches every message: no condition at all (``{}``)."""
        return not any(value is not None and value != {} for value in self.__dict__.values())


TagField = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")]


TemplateSetField = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]


class RuleSet(_Model):
    """What a matching rule gives the case; a later matching rule overrides an earlier one key by key."""

    priority: Priority | None = Field(default=None, description="the case's priority (and so its promise)")
    language: LanguageField | None = Field(
        default=None, description="the language of the mail to the customer; wins over detection")
    updates: UpdateCadence | None = Field(default=None, description="update cadences, as in updates.by_priority")
    tags: list[TagField] | None = Field(default=None, description="added to the case's tags (they add up)")
    assignee: str | None = Field(default=None, min_length=1, max_length=320, description="who the case is for")
    template_set: TemplateSetField | None = Field(
        default=None, description="acknowledgement and updates from templates/sets/<name>/<language>/")
    acknowledge: bool | None = Field(
        default=None, description="false: a case, but no acknowledgement (as action: no_ack)")

    @model_validator(mode="after")
    def _something_to_set(self) -> Self:
        if all(value is None for value in self.__dict__.values()):
            raise ValueError("set needs priority, language, updates, tags, assignee, template_set or acknowledge")
        return self


class RuleConfig(_Model):
    """One rule: checked in order; see README, Rules."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, description="unique; logged with every message it matches")
    match: RuleMatch
    set_: RuleSet | None = Field(default=None, alias="set")
    action: Literal["ignore", "no_ack"] | None = Field(
        default=None, description="ignore: no case, no acknowledgement, no later rule; no_ack: no acknowledgement")
    continue_: bool = Field(default=True, alias="continue",
                            description="false: when this rule matches, no later rule is looked at")

    @model_validator(mode="after")
    def _set_or_action(self) -> Self:
        if self.set_ is None and self.action is None and self.continue_:
            raise ValueError("a rule needs set (priority, tags, …), action (ignore, no_ack) or continue: false")
        if self.set_ is not None and self.action == "ignore":
            raise ValueError("an ignored message gets no priority or language: use set or action: ignore, not both")
        return self

    @property
    def stops(self) -> bool:
        """No rule after this one is looked at when it matches."""
        return not self.continue_ or self.action == "ignore"


class TemplatesConfig(_Model):
    # None: the templates shipped with inboxd.
    directory: str | None = None

    @field_validator("directory")
    @classmethod
    def _directory_path(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _resolve_path(value, info)

    def resolved_directory(self) -> Path:
        """The directory to load templates from."""
        if self.directory is not None:
            return Path(self.directory)
        from inboxd.mail.render import bundled_template_dir

        return bundled_template_dir()


class StatusPageConfig(_Model):
    """The daemon's read-only HTTP port: the status page at ``/``, ``/metrics`` and ``/healthz``.

    Off unless ``listen`` is set. Write a loopback address (``127.0.0.1:8025``) and put a reverse proxy with
    authentication in front; another address is taken as written, since the admin chose it.
    """

    listen: str | None = None

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parse_listen(value)
        return value.strip()

    @property
    def address(self) -> tuple[str, int] | None:
        return parse_listen(self.listen) if self.listen else None


def parse_listen(value: str) -> tuple[str, int]:
    """``"127.0.0.1:8025"`` or ``"[::1]:8025"`` as (host, port); ValueError for anything else."""
    text = value.strip()
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{value!r}: write HOST:PORT, e.g. 127.0.0.1:8025")
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"{value!r}: the host must be an IP address or localhost, e.g. 127.0.0.1:8025") \
                from None
    return host, int(port)


class Config(_Model):
    """The whole validated ``inboxd.yaml``."""

    team: TeamConfig
    mailboxes: list[MailboxConfig]
    promises: PromisesConfig = Field(default_factory=PromisesConfig)
    updates: UpdatesConfig = Field(default_factory=UpdatesConfig)
    reminders: RemindersConfig = Field(default_factory=RemindersConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    loop_guard: LoopGuardConfig = Field(default_factory=LoopGuardConfig)
    cases: CasesConfig = Field(default_factory=CasesConfig)
    rules: list[RuleConfig] = Field(default_factory=list)
    templates: TemplatesConfig = Field(default_factory=TemplatesConfig)
    status_page: StatusPageConfig = Field(default_factory=StatusPageConfig)

    @field_validator("mailboxes")
    @classmethod
    def _mailboxes_unique(cls, value: list[MailboxConfig]) -> list[MailboxConfig]:
        if not value:
            raise ValueError("configure at least one mailbox")
        _fail_on_duplicates(value, ("name", "address"), "mailboxes", "{key} is used twice (also {where})")
        return value

    @field_validator("rules")
    @classmethod
    def _rules_unique(cls, value: list[RuleConfig]) -> list[RuleConfig]:
        _fail_on_duplicates(value, "name", "rules", "rule {key!r} is defined twice (also {where})")
        return value

    @model_validator(mode="after")
    def _cross_section(self) -> Self:
        problems: list[tuple[Loc, str]] = []
        staff = {member.email for member in self.team.staff}
        escalate_to = self.reminders.escalate_to
        if escalate_to != "lead" and escalate_to not in staff:
            problems.append((("reminders", "escalate_to"), f"{escalate_to} is not in team.staff"))
        addresses = {mailbox.address: index for index, mailbox in enumerate(self.mailboxes)}
        for index, member in enumerate(self.team.staff):
            if member.email in addresses:
                problems.append(
                    (
                        ("team", "staff", index, "email"),
                        f"{member.email} is mailboxes[{addresses[member.email]}].address; "
                        "staff need their own addresses",
                    )
                )
        if problems:
            _fail(problems)
        # Let secret errors name their key path.
        for index, mailbox in enumerate(self.mailboxes):
            mailbox.imap._key_path = f"mailboxes[{index}].imap"
            mailbox.smtp._key_path = f"mailboxes[{index}].smtp"
            if mailbox.auth is not None:
                mailbox.auth._key_path = f"mailboxes[{index}].auth"
        return self

    def message_id_domain(self) -> str:
        """The domain of inboxd's Message-IDs: ``cases.message_id_domain``, else the first mailbox's."""
        if self.cases.message_id_domain:
            return self.cases.message_id_domain
        return self.mailboxes[0].address.rpartition("@")[2]

    def mailbox(self, name: str) -> MailboxConfig:
        for mailbox in self.mailboxes:
            if mailbox.name == name:
                return mailbox
        raise KeyError(name)


def rule_problems(config: Config, config_dir: Path | None = None) -> tuple[list[str], list[str]]:
    """What check-config says about the rules beyond their syntax: (errors, warnings).

    Errors: a template set a rule routes to that has no templates. Warnings: a rule that can never
    match (an earlier ``continue: false`` or ``ignore`` rule matches all it would), and a language or
    template set without its own acknowledgement template (the fallback is used).
    """
    from inboxd.core.rules import unreachable_rules
    from inboxd.mail.render import resolve_template_dir

    errors: list[str] = []
    warnings: list[str] = []
    rules = config.rules
    for index, before in unreachable_rules(rules):
        earlier = rules[before]
        why = "action: ignore" if earlier.action == "ignore" else "continue: false"
        warnings.append(f"rules[{index}] ({rules[index].name}): can never match: rules[{before}] ({earlier.name}) "
                        f"has {why} and matches every message it would")
    directory = resolve_template_dir(config.templates.directory, config_dir)
    languages = dict.fromkeys([config.cases.default_language]
                              + [r.set_.language for r in rules if r.set_ is not None and r.set_.language])
    for language in languages:
        if not (directory / language / "ack.txt.j2").is_file() and \
                not (directory / language.split("-")[0] / "ack.txt.j2").is_file():
            warnings.append(f"templates: no {language}/ack.txt.j2 in {directory}; "
                            f"acknowledgements in {language} come out in English")
    for index, rule in enumerate(rules):
        chosen = rule.set_.template_set if rule.set_ is not None else None
        if chosen is None:
            continue
        where = directory / "sets" / chosen
        if not where.is_dir() or not any(where.glob("*/*.txt.j2")):
            errors.append(f"rules[{index}].set.template_set: no templates for set {chosen!r}: "
                          f"expected {where}/<language>/ack.txt.j2 (see README, Template sets)")
            continue
        for language in languages:
            if not (where / language / "ack.txt.j2").is_file():
                warnings.append(f"rules[{index}].set.template_set: set {chosen!r} has no {language}/ack.txt.j2; "
                                "that acknowledgement comes from the default templates")
    return errors, warnings

