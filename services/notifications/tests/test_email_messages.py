"""E-mails as they leave the service: what a mail client reads back is what was written."""

from email import message_from_bytes, policy
from uuid import uuid4

import pytest

from notifications.config import Settings
from notifications.email.messages import Letter, build


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("vi", "Chỉ tiêu giảm nghèo thay đổi trạng thái"),
        ("vi", "Hộ gia đình 08707-000002 vào danh sách chưa được hỗ trợ chuyển đổi số của xã"),
        ("en", "A target's progress changed: poverty rate of Phú Thọ (25) off track in 2026"),
    ],
)
def test_a_long_subject_reads_back_with_every_space(language: str, subject: str) -> None:
    letter = Letter(
        to="lan.nguyen@phutho.gov.vn",
        language=language,
        subject=subject,
        template="message",
        context={"title": subject, "lines": [], "event_type": "x", "occurred_at": "now"},
    )

    message = build(Settings(), letter, subscription_id=uuid4())
    read = message_from_bytes(message.as_bytes(), policy=policy.default)

    assert read["Subject"].endswith(f"] {subject}")
