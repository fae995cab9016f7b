"""Where secrets live: files, environment variables and systemd credentials, read only when needed.

No message this module produces ever contains a secret's value.
"""

from __future__ import annotations

import os
from pathlib import Path

from inboxd.config.models import AuthConfig, Config, ImapConfig, SmtpConfig
from inboxd.errors import SecretError


def _credentials_directory() -> Path | None:
    value = os.environ.get("CREDENTIALS_DIRECTORY")
    return Path(value) if value else None


def resolve_secret(owner: ImapConfig | SmtpConfig) -> str:
    """Read the secret the section names; raise SecretError naming the key (never the value)."""
    if owner.password_file is not None:
        key = f"{owner.key_path}.password_file"
        try:
            secret = Path(owner.password_file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretError(f"{key}: cannot read {owner.password_file}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise SecretError(f"{key}: {owner.password_file} is not UTF-8 text") from None
        where = owner.password_file
    elif owner.password_env is not None:
        key = f"{owner.key_path}.password_env"
        secret = os.environ.get(owner.password_env, "")
        if owner.password_env not in os.environ:
            raise SecretError(f"{key}: environment variable {owner.password_env} is not set")
        where = f"environment variable {owner.password_env}"
    elif owner.password_credential is not None:
        key = f"{owner.key_path}.password_credential"
        directory = _credentials_directory()
        if directory is None:
            raise SecretError(
                f"{key}: credential {owner.password_credential!r} needs $CREDENTIALS_DIRECTORY "
                f"(systemd sets it for LoadCredential={owner.password_credential}:…)"
            )
        path = directory / owner.password_credential
        try:
            secret = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretError(f"{key}: cannot read credential {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise SecretError(f"{key}: credential {path} is not UTF-8 text") from None
        where = str(path)
    else:
        raise SecretError(f"{owner.key_path}: no password_file, password_env or password_credential is set")
    if not secret:
        raise SecretError(f"{key}: {where} is empty")
    return secret


def resolve_auth_secret(auth: AuthConfig) -> str | None:
    """The OAuth client secret (or Google service account key) the ``auth`` section names; None if it names none."""
    file, env, credential = auth.client_secret_file, auth.client_secret_env, auth.client_secret_credential
    if file is None and env is None and credential is None:
        return None
    key = f"{auth.key_path}.{auth.secret_keys[0]}"
    if env is not None:
        if env not in os.environ:
            raise SecretError(f"{key}: environment variable {env} is not set")
        secret = os.environ[env]
    else:
        if credential is not None:
            directory = _credentials_directory()
            if directory is None:
                raise SecretError(f"{key}: credential {credential!r} needs $CREDENTIALS_DIRECTORY "
                                  f"(systemd sets it for LoadCredential={credential}:…)")
            path = directory / credential
        else:
            assert file is not None
            path = Path(file)
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SecretError(f"{key}: cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not secret:
        raise SecretError(f"{key}: it is empty")
    return secret


def _needs_service(owner: ImapConfig | SmtpConfig) -> bool:
    """Whether the secret only exists inside the running systemd service."""
    if owner.password_credential is not None:
        return _credentials_directory() is None
    return owner.password_file is not None and owner.password_file.startswith("/run/credentials/")


def check_secrets(config: Config, strict: bool) -> list[str]:
    """One message per secret that cannot be read where this runs; values are never read into messages.

    Without ``strict`` a secret that only the systemd service can see (a credential, a file under
    ``/run/credentials/``) says so, since checking from a login shell cannot find it.
    """
    messages: list[str] = []
    for mailbox in config.mailboxes:
        owners: list[ImapConfig | SmtpConfig] = [mailbox.imap] if mailbox.auth is None else []
        if mailbox.smtp.secret_keys:
            owners.append(mailbox.smtp)
        if mailbox.auth is not None:
            try:
                resolve_auth_secret(mailbox.auth)
            except SecretError as exc:
                messages.append(str(exc))
        for owner in owners:
            try:
                resolve_secret(owner)
            except SecretError as exc:
                message = str(exc)
                if not strict and _needs_service(owner):
                    message += " (expected outside the inboxd service; systemd provides it at start)"
                messages.append(message)
    return messages

