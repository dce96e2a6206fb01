"""What each value of the shared enums means, for the API document.

These enums belong to the event contracts, whose published schemas are frozen; their meanings
are kept here and written into the OpenAPI document by `kit.openapi` (an enum component named
after the class gets a description with one line per value). Which values a standard counts as
safe, hygienic or sufficient is the standard's data, added by the indicators service.
"""

from enum import StrEnum

from kit.auth.roles import Permission, Role
from kit.contracts.households import (
    Area,
    Device,
    Disability,
    Latrine,
    Qualification,
    Relation,
    ReviewState,
    SchoolLevel,
    Sex,
    SuccessionRelation,
    SupportKind,
    WaterSource,
    WorkingStatus,
)

MEANINGS: dict[type[StrEnum], tuple[str, dict[str, str]]] = {
    Area: (
        "Urban or rural, from the commune's type on the round's reference date (phường and "
        "thị trấn urban, xã rural); the income line depends on it.",
        {"urban": "thành thị", "rural": "nông thôn"},
    ),
    Sex: ("Sex as recorded in the survey.", {"male": "nam", "female": "nữ"}),
    Relation: (
        "Relation to the head of household (quan hệ với chủ hộ).",
        {
            "head": "the head of household (chủ hộ); exactly one per survey",
            "spouse": "wife or husband of the head (vợ/chồng)",
            "child": "child, step-child or adopted child (con)",
            "parent": "father or mother, also in-law (bố/mẹ)",
            "grandchild": "grandchild (cháu)",
            "grandparent": "grandparent (ông/bà)",
            "sibling": "brother or sister (anh/chị/em)",
            "other_relative": "any other relative (họ hàng khác)",
            "non_relative": "lives in the household, not related (không có quan hệ họ hàng)",
        },
    ),
    WorkingStatus: (
        "Main activity in the last 12 months.",
        {
            "wage_worker": "works for a wage or salary (give `has_labour_contract`)",
            "self_employed": "works on own account: farm, shop, trade",
            "unemployed": "of working age, without work and looking for it",
            "student": "in school or training",
            "homemaker": "keeps house, not looking for work",
            "retired": "retired",
            "unable_to_work": "cannot work (illness, disability)",
            "not_working_other": "not working for another reason",
        },
    ),
    Disability: (
        "Degree of disability as certified (mức độ khuyết tật).",
        {
            "none": "no disability",
            "mild": "mild (nhẹ)",
            "severe": "severe (nặng)",
            "especially_severe": "especially severe (đặc biệt nặng)",
        },
    ),
    SchoolLevel: (
        "The level a member attends now (only with `attending_school`).",
        {
            "preschool": "kindergarten (mầm non)",
            "primary": "primary school, grades 1–5 (tiểu học)",
            "lower_secondary": "lower secondary, grades 6–9 (trung học cơ sở)",
            "upper_secondary": "upper secondary, grades 10–12 (trung học phổ thông)",
            "vocational": "vocational training (giáo dục nghề nghiệp)",
            "college": "college (cao đẳng)",
            "university": "university (đại học)",
        },
    ),
    Qualification: (
        "The highest level completed (trình độ cao nhất đã đạt).",
        {
            "none": "none completed",
            "primary": "primary school",
            "lower_secondary": "lower secondary school",
            "upper_secondary": "upper secondary school",
            "vocational_certificate": "a vocational certificate (chứng chỉ nghề)",
            "college": "a college degree",
            "university": "a university degree",
        },
    ),
    WaterSource: (
        "The household's main source of domestic water (nguồn nước sinh hoạt).",
        {
            "piped": "piped water into the dwelling or yard (nước máy)",
            "drilled_well": "drilled well (giếng khoan)",
            "protected_dug_well": "protected dug well (giếng đào được bảo vệ)",
            "protected_spring": "protected spring (nước khe mó được bảo vệ)",
            "rainwater": "collected rainwater (nước mưa)",
            "bottled": "bottled or jar water (nước đóng chai, bình)",
            "unprotected_dug_well": "unprotected dug well",
            "unprotected_spring": "unprotected spring",
            "surface_water": "river, lake, pond or canal",
            "vendor": "bought from a cart or tanker",
            "other": "any other source",
        },
    ),
    Latrine: (
        "The latrine the household uses (loại nhà tiêu).",
        {
            "septic": "flush toilet with septic tank (tự hoại)",
            "semi_septic": "semi-septic tank (bán tự hoại)",
            "pour_flush": "pour-flush latrine (dội nước)",
            "double_vault": "double-vault composting latrine (hai ngăn)",
            "ventilated_pit": "ventilated improved pit (chìm có ống thông hơi)",
            "simple_pit": "simple pit latrine",
            "hanging": "latrine over water (cầu tõm)",
            "none": "no latrine",
            "other": "any other kind",
        },
    ),
    Device: (
        "Information devices the household owns (phương tiện tiếp cận thông tin).",
        {
            "tv": "television",
            "radio": "radio",
            "desktop_computer": "desktop computer",
            "laptop": "laptop computer",
            "tablet": "tablet",
            "smartphone": "smartphone",
            "basic_phone": "a phone without internet (not an information device under "
            "`VN-2022-2025`)",
        },
    ),
    SupportKind: (
        "What a community digital technology team (tổ công nghệ số cộng đồng) gave or did for a "
        "household (docs/digital-inclusion.md).",
        {
            "device_given": "a device given (name it in `device`), most often a smartphone",
            "internet_subscription": "months of internet subscription supported "
            "(`subscription_months`)",
            "digital_skills_training": "training in digital skills (kỹ năng số)",
            "electronic_identity": "help with the electronic identity (VNeID)",
            "online_public_service": "help with an online public service (dịch vụ công trực tuyến)",
            "other": "any other help",
        },
    ),
    ReviewState: (
        "Where a commune's review stands in a round (docs/review-round.md).",
        {
            "open": "surveys are being entered",
            "surveyed": "surveying is finished; village meetings discuss the results",
            "posted": "the lists are posted publicly; objections may be lodged",
            "approved": "the commune has recognised its lists; read-only until an admin reopens",
        },
    ),
    SuccessionRelation: (
        "How a unit's territory went into its successor.",
        {
            "whole": "all of it, merged with others",
            "partial": "part of it; the predecessor was split",
            "unchanged": "all of it and nothing else, same name",
            "renamed": "all of it and nothing else, new name",
        },
    ),
    Role: (
        "What a user or API key may do (docs/access.md).",
        {
            "admin": "everything, users and API keys included",
            "province_officer": "supervises a province: reads households without personal "
            "data, approves the province's review",
            "commune_officer": "households, surveys, populations and the commune's review",
            "enumerator": "enters surveys in its communes",
            "ministry_analyst": "aggregates only, small counts perturbed",
        },
    ),
    Permission: (
        "A right a role holds; each operation's description names the one it needs.",
        {permission.value: permission.name.lower().replace("_", " ") for permission in Permission},
    ),
}


_DWELLING = {
    "has_dwelling": "False: the household has no dwelling of its own (deprived in housing "
    "quality).",
    "walls_durable": "The walls are of durable material (brick, concrete, stone, good wood).",
    "columns_durable": "The columns (or load-bearing walls) are of durable material.",
    "roof_durable": "The roof is of durable material (tiles, concrete, metal sheet).",
    "floor_area_m2": "Floor area of the dwelling, m²; divided by the members for the floor-area "
    "indicator.",
}
# Properties of the contracts' models (whose published schemas are frozen), by the name of each
# API schema that shows them.
PROPERTIES: dict[str, dict[str, str]] = {"DwellingFacts": _DWELLING, "DwellingInput": _DWELLING}


def describe(enum: type[StrEnum], docstring: str | None = None) -> str:
    """The enum's summary (its docstring, where it has one) and a line per value."""
    summary, meanings = MEANINGS[enum]
    summary = docstring or summary
    lines = "\n".join(f"- `{member.value}`: {meanings[member.value]}" for member in enum)
    return f"{summary}\n\n{lines}"
