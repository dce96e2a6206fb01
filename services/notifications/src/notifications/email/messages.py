"""E-mails: rendered from Jinja2 templates in the recipient's language (plain text and HTML),
then written to a folder (the embedded default) or sent over SMTP with aiosmtplib."""

import asyncio
import os
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from uuid import UUID

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from notifications.config import Settings
from notifications.email import unsubscribe

TEMPLATES = Path(__file__).with_name("templates")
SUBJECT_PREFIX = {"vi": "[Rà soát hộ nghèo]", "en": "[Poverty review]"}
# Python's header folding (3.11–3.13) drops the space where it splits a Vietnamese subject
# between two encoded words ("giảm nghèo" arrived as "giảmnghèo"): headers are folded only past
# RFC 5322's 998 characters, so a subject stays one encoded word.
MESSAGE_POLICY = policy.default.clone(max_line_length=998)

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=lambda name: name is not None and name.endswith(".html.j2"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True, slots=True)
class Letter:
    to: str
    language: str
    subject: str
    template: str  # "message" or "digest"
    context: dict[str, Any]


def unsubscribe_url(settings: Settings, subscription_id: UUID) -> str:
    signed = unsubscribe.token(settings.UNSUBSCRIBE_SECRET.get_secret_value(), subscription_id)
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/v1/unsubscribe?token={signed}"


def build(settings: Settings, letter: Letter, *, subscription_id: UUID) -> EmailMessage:
    link = unsubscribe_url(settings, subscription_id)
    context = letter.context | {"unsubscribe_url": link}
    language = letter.language if letter.language in SUBJECT_PREFIX else "vi"
    text = _environment.get_template(f"{language}/{letter.template}.txt.j2").render(context)
    html = _environment.get_template(f"{language}/{letter.template}.html.j2").render(context)
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = settings.EMAIL_FROM
    message["To"] = letter.to
    message["Subject"] = f"{SUBJECT_PREFIX[language]} {letter.subject}"
    message["Message-ID"] = make_msgid(domain="poverty-review.local")
    message["Content-Language"] = language
    # One-click unsubscribe (RFC 8058): mail clients POST to the link.
    message["List-Unsubscribe"] = f"<{link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


async def send(settings: Settings, message: EmailMessage, *, name: str) -> None:
    """Deliver `message`: an .eml file named `name` in EMAIL_FOLDER, or over SMTP."""
    if settings.EMAIL_BACKEND == "folder":
        await asyncio.to_thread(_write, Path(settings.EMAIL_FOLDER), name, message.as_bytes())
        return
    password = settings.SMTP_PASSWORD.get_secret_value() if settings.SMTP_PASSWORD else None
    # Credentials only when both are given: an empty variable means none.
    login = bool(settings.SMTP_USERNAME and password)
    await aiosmtplib.send(
        message,
        hostname=settings.SMTP_HOST,
        port=settings.SMTP_PORT,
        username=settings.SMTP_USERNAME if login else None,
        password=password if login else None,
        use_tls=settings.SMTP_SECURITY == "tls",
        start_tls=settings.SMTP_SECURITY == "starttls",
        cert_bundle=settings.SMTP_CA_FILE,
        timeout=settings.SMTP_TIMEOUT_SECONDS,
    )


def _write(folder: Path, name: str, content: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = folder / f"{name}.eml"
    partial = folder / f".{name}.eml.partial"
    # Written whole, then renamed: a reader of the folder never sees half a message.
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as file:
        file.write(content)
    partial.replace(final)
