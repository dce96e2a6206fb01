"""What a notification says, and what of an event each recipient may see.

Events carry no names or ID numbers (the households service keeps those), but some identify a
household (`household_id`, `household_code`, a survey's members) or a person acting (`actor`,
`lodged_by`). What a recipient gets is cut by the role copied onto the subscription:

- a role without `personal_data:read` gets no field naming a person;
- a role without `households:read` (aggregate roles: the ministry analyst, other ministries'
  systems) gets nothing that identifies a household either: only units, rounds and figures.

The same cut applies to every channel (inbox, webhook, e-mail), since it is made once, at fan-out.
An event about many units at once (a bulk import's batch of surveys) reaches a subscriber whose
scope is not the whole country with the items of its units only (`within_scope`).
"""

from collections.abc import Sequence
from typing import Any

from kit.auth import PERMISSIONS, Permission, Role
from kit.contracts import Envelope

PERSONAL_FIELDS = frozenset(
    {
        "full_name",
        "head_name",
        "name_of_head",
        "national_id",
        "id_number",
        "birth_date",
        "address",
        "phone",
        "lodged_by",
        "actor",
        "owner_subject",
    }
)
HOUSEHOLD_FIELDS = frozenset(
    {"household_id", "household_code", "assessment_id", "members", "assessments", "village"}
)

TITLES: dict[str, dict[str, str]] = {
    "households.round.opened.v1": {
        "vi": "Mở kỳ rà soát mới",
        "en": "A review round was opened",
    },
    "households.review.step_changed.v1": {
        "vi": "Rà soát của xã chuyển bước",
        "en": "A commune's review moved a step",
    },
    "households.review.reopened.v1": {
        "vi": "Rà soát của xã được mở lại",
        "en": "A commune's review was reopened",
    },
    "households.review.province_approved.v1": {
        "vi": "Tỉnh đã phê duyệt kết quả rà soát",
        "en": "A province approved the round",
    },
    "indicators.household.class_changed.v1": {
        "vi": "Phân loại hộ thay đổi",
        "en": "A household's class changed",
    },
    "indicators.target.progress_changed.v1": {
        "vi": "Chỉ tiêu giảm nghèo thay đổi trạng thái",
        "en": "A poverty-reduction target's progress changed",
    },
    "indicators.household.left_behind.v1": {
        "vi": "Hộ chưa được hỗ trợ chuyển đổi số",
        "en": "A household is left behind in digital inclusion",
    },
    "households.support.recorded.v1": {
        "vi": "Đã ghi nhận hỗ trợ chuyển đổi số",
        "en": "Digital-inclusion support was recorded",
    },
    "households.support.withdrawn.v1": {
        "vi": "Một ghi nhận hỗ trợ đã được hủy",
        "en": "A support record was withdrawn",
    },
    "reminder.periodic_review_opens": {
        "vi": "Nhắc lịch: rà soát định kỳ bắt đầu ngày 1/9",
        "en": "Reminder: the periodic review opens on 1 September",
    },
    "reminder.periodic_review_ends": {
        "vi": "Nhắc lịch: rà soát định kỳ kết thúc ngày 14/12",
        "en": "Reminder: the periodic review ends on 14 December",
    },
    "reminder.regular_review": {
        "vi": "Nhắc lịch: rà soát thường xuyên ngày 15 hằng tháng",
        "en": "Reminder: the monthly regular review is on the 15th",
    },
    "reminder.posting_period_ends": {
        "vi": "Nhắc lịch: hết thời gian niêm yết công khai",
        "en": "Reminder: the commune's public posting period ends",
    },
    "deadletter.delivery": {
        "vi": "Một lần gửi đã thất bại sau mọi lần thử lại",
        "en": "A delivery failed all its attempts",
    },
    "deadletter.message": {
        "vi": "Có thông điệp không xử lý được (dead letter)",
        "en": "Messages were dead-lettered on the bus",
    },
    "notice.subscription": {
        "vi": "Thông báo về đăng ký nhận tin",
        "en": "About your subscription",
    },
}


def title(event_type: str, language: str) -> str:
    titles = TITLES.get(event_type)
    if titles is None:
        return {"vi": "Sự kiện", "en": "Event"}[language] + f" {event_type}"
    return titles[language]


def visible_data(data: Any, role: str) -> Any:
    """`data` without what `role` may not see, at any depth."""
    permissions = PERMISSIONS[Role(role)]
    hidden: frozenset[str] = frozenset()
    if Permission.PERSONAL_DATA_READ not in permissions:
        hidden |= PERSONAL_FIELDS
    if Permission.HOUSEHOLDS_READ not in permissions:
        hidden |= HOUSEHOLD_FIELDS
    return _without(data, hidden)


def _without(value: Any, hidden: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {key: _without(item, hidden) for key, item in value.items() if key not in hidden}
    if isinstance(value, list):
        return [_without(item, hidden) for item in value]
    return value


def _item_path(item: dict[str, Any]) -> list[str] | None:
    """The unit path of one item of a list (a survey of a batch), if it names one."""
    for candidate in (item, *(v for v in item.values() if isinstance(v, dict))):
        path = candidate.get("unit_path")
        if isinstance(path, list) and path:
            return [str(code) for code in path]
    return None


def within_scope(data: Any, units: Sequence[str]) -> tuple[Any, bool]:
    """`data` without the list items (a batch's surveys) of units outside `units`, and whether
    anything of the event's units is left: an event about other units only is not delivered."""
    kept_any, had_any = False, False

    def cut(value: Any) -> Any:
        nonlocal kept_any, had_any
        if isinstance(value, dict):
            return {key: cut(item) for key, item in value.items()}
        if isinstance(value, list):
            kept = []
            for item in value:
                path = _item_path(item) if isinstance(item, dict) else None
                if path is not None:
                    had_any = True
                    if not any(code in units for code in path):
                        continue
                    kept_any = True
                kept.append(cut(item))
            return kept
        return value

    result = cut(data)
    return result, kept_any or not had_any


def unit_path(data: dict[str, Any]) -> list[str]:
    """The unit codes an event concerns, province first; empty for an event of no unit (a round
    opened, the country's map): such an event concerns every subscriber to its type."""
    path = data.get("unit_path")
    if isinstance(path, list) and path:
        return [str(code) for code in path]
    codes = [
        str(data[key])
        for key in ("province_code", "district_code", "commune_code", "unit_code")
        if isinstance(data.get(key), str) and data[key]
    ]
    return codes


def unit_paths(data: dict[str, Any]) -> set[tuple[str, ...]]:
    """Every unit path an event names: its own, and its items' (a batch's surveys or changes)."""
    paths = {tuple(unit_path(data))} - {()}
    for value in data.values():
        if isinstance(value, list):
            items = (_item_path(item) for item in value if isinstance(item, dict))
            paths.update(tuple(path) for path in items if path)
    return paths


def summary_lines(data: Any) -> list[str]:
    """`key: value` lines of the top-level facts, for text bodies (lists summarised)."""
    lines = []
    for key, value in (data or {}).items():
        if isinstance(value, list):
            rendered = (
                ", ".join(str(v) for v in value)
                if all(not isinstance(v, dict | list) for v in value)
                else f"{len(value)} item(s)"
            )
        elif isinstance(value, dict):
            rendered = f"{len(value)} field(s)"
        else:
            rendered = str(value)
        lines.append(f"{key}: {rendered}")
    return lines


def webhook_body(envelope: Envelope, data: Any) -> dict[str, Any]:
    """The JSON a webhook receives (the Standard Webhooks payload shape)."""
    return {
        "type": envelope.type,
        "timestamp": envelope.occurred_at.isoformat(),
        "event_id": str(envelope.id),
        "data": data,
    }
