"""One realistic example of every published event's data, for the AsyncAPI catalogue.

Phường Vĩnh Yên (08707) of Phú Thọ (25) in the 2026 periodic review, and its households, as the
synthetic demo has them. `libs/kit/tests/test_asyncapi.py` checks that every published type has
one, valid against its model: a new event type needs its example here.
"""

from typing import Any

ROUND = "0d03a6ef-21f9-4d96-a4e4-ebb7e0cfd28c"
HOUSEHOLD = "39475f53-7e4e-4cab-a3c0-3eeac2760c34"
PATH = ["25", "08707"]

_ASSESSMENT: dict[str, Any] = {
    "assessment_id": "6b1f0a52-8c7e-4f0e-9f55-2a4d3c1b7e90",
    "household_id": HOUSEHOLD,
    "household_code": "VY-0420",
    "round_id": ROUND,
    "round_year": 2026,
    "standard_id": "VN-2022-2025",
    "reference_date": "2026-11-01",
    "commune_code": "08707",
    "commune_name": "Phường Vĩnh Yên",
    "unit_path": PATH,
    "area": "urban",
    "members": [
        {
            "member_no": 1,
            "age_years": 55,
            "age_months": 667,
            "sex": "male",
            "relation_to_head": "head",
            "working_status": "self_employed",
            "has_health_insurance": True,
            "highest_qualification": "lower_secondary",
        },
        {
            "member_no": 2,
            "age_years": 52,
            "age_months": 626,
            "sex": "female",
            "relation_to_head": "spouse",
            "working_status": "wage_worker",
            "has_labour_contract": True,
            "has_health_insurance": True,
            "highest_qualification": "upper_secondary",
        },
        {
            "member_no": 3,
            "age_years": 14,
            "age_months": 173,
            "sex": "female",
            "relation_to_head": "child",
            "working_status": "student",
            "has_health_insurance": True,
            "attending_school": True,
            "school_level": "lower_secondary",
        },
    ],
    "dwelling": {"floor_area_m2": 54.0},
    "water_source": "piped",
    "latrine": "septic",
    "internet_use": True,
    "devices": ["tv", "smartphone"],
    "income_score_a": None,
    "monthly_income_per_person": 2100000,
}
_HOUSEHOLD: dict[str, Any] = {
    "household_id": HOUSEHOLD,
    "household_code": "VY-0420",
    "commune_code": "08707",
    "unit_path": PATH,
    "village": "Tổ dân phố 3",
}

# A household in the round, as the indicators' events about one name it.
_IN_ROUND: dict[str, Any] = {
    "household_id": HOUSEHOLD,
    "household_code": "VY-0420",
    "round_id": ROUND,
    "standard_id": "VN-2022-2025",
    "commune_code": "08707",
    "commune_name": "Phường Vĩnh Yên",
    "unit_path": PATH,
}
_CLASS_CHANGE: dict[str, Any] = {
    **_IN_ROUND,
    "previous_class": "near_poor",
    "new_class": "average",
    "deprivation_count": 0,
}
_LEFT_BEHIND: dict[str, Any] = {
    **_IN_ROUND,
    "deprived_indicators": ["telecom_use", "information_devices"],
    "waiting_since": "2026-11-05",
    "reason": "no_support_since_survey",
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "households.round.opened.v1": {
        "round_id": ROUND,
        "year": 2026,
        "kind": "periodic",
        "reference_date": "2026-11-01",
        "standard_id": "VN-2022-2025",
        "name": "Rà soát định kỳ 2026",
    },
    "households.household.registered.v1": _HOUSEHOLD | {"version": 1},
    "households.household.updated.v1": _HOUSEHOLD | {"village": "Tổ dân phố 4", "version": 2},
    "households.households.registered.v1": {"households": [_HOUSEHOLD | {"version": 1}]},
    "households.assessment.recorded.v1": _ASSESSMENT,
    "households.assessments.recorded.v1": {
        "assessments": [{"sequence": 1, "assessment": _ASSESSMENT}]
    },
    "households.population.recorded.v1": {
        "round_id": ROUND,
        "unit_code": "08707",
        "unit_path": PATH,
        "area": "urban",
        "resident_households": 1850,
        "resident_persons": 6400,
    },
    "households.review.step_changed.v1": {
        "round_id": ROUND,
        "commune_code": "08707",
        "province_code": "25",
        "unit_path": PATH,
        "from_state": "posted",
        "to_state": "approved",
        "actor": "user:commune",
        "at": "2026-11-24T09:15:00Z",
        "version": 3,
    },
    "households.review.reopened.v1": {
        "round_id": ROUND,
        "commune_code": "08707",
        "province_code": "25",
        "unit_path": PATH,
        "from_state": "approved",
        "to_state": "surveyed",
        "actor": "user:admin",
        "at": "2026-12-02T08:00:00Z",
        "reason": "Hộ VY-0420 khai thiếu một thành viên; khảo sát lại.",
        "province_approval_withdrawn": False,
        "version": 4,
    },
    "households.review.province_approved.v1": {
        "round_id": ROUND,
        "province_code": "25",
        "communes": 148,
        "actor": "user:province",
        "at": "2026-12-14T10:00:00Z",
    },
    "households.units.successions_recorded.v1": {
        "source": "vietnamadminunits 1.0.4",
        "effective": "2025-07-01",
        "predecessor_province_code": "26",
        "successions": [
            {
                "predecessor_code": "08707",
                "predecessor_valid_from": "2008-08-01",
                "successor_code": "08707",
                "successor_valid_from": "2025-07-01",
                "successor_level": "commune",
                "successor_unit_path": PATH,
                "successor_area": "urban",
                "relation": "whole",
            }
        ],
    },
    "indicators.household.class_changed.v1": _CLASS_CHANGE,
    "indicators.household.classes_changed.v1": {
        "changes": [
            {
                "sequence": 1,
                "change": {
                    **_CLASS_CHANGE,
                    "previous_class": None,
                    "new_class": "near_poor",
                    "deprivation_count": 2,
                },
            }
        ]
    },
    "indicators.target.progress_changed.v1": {
        "target_id": "8a6e4c2b-3d1f-4b7a-9e05-c4d2f1a0b396",
        "unit_code": "25",
        "unit_path": ["25"],
        "measure": "poverty_rate",
        "kind": "below_by",
        "target_year": 2026,
        "target_percent": 0.7,
        "status": "off_track",
        "previous_status": "on_track",
        "year": 2026,
        "round_id": ROUND,
        "figures_status": "provisional",
        "rate_percent": 0.99,
        "expected_percent": 0.7,
    },
    "households.support.recorded.v1": {
        "records": [
            {
                "support_id": "2f7c9a1e-5b3d-4c8e-a6f0-1d2e3b4c5a69",
                "household_id": HOUSEHOLD,
                "household_code": "VY-0420",
                "commune_code": "08707",
                "unit_path": PATH,
                "kind": "device_given",
                "device": "smartphone",
                "given_on": "2026-11-20",
                "team_id": "7d1e3f5a-9b2c-4e6d-8f0a-1b3c5d7e9f24",
                "member_id": "4a6c8e0f-2b4d-4f6a-8c0e-2d4f6a8c0e13",
            }
        ]
    },
    "households.support.withdrawn.v1": {
        "support_id": "2f7c9a1e-5b3d-4c8e-a6f0-1d2e3b4c5a69",
        "household_id": HOUSEHOLD,
        "commune_code": "08707",
        "unit_path": PATH,
        "reason": "Entered for the neighbouring household by mistake.",
    },
    "indicators.household.left_behind.v1": _LEFT_BEHIND,
    "indicators.households.left_behind.v1": {
        "households": [{"sequence": 1, "household": _LEFT_BEHIND}]
    },
    "identity.access.changed.v1": {
        "token_subject": "user:lan.nguyen",
        "reason": "deactivated",
        "not_before": "2026-12-01T08:30:00Z",
    },
}

# The subject each producer gives these messages (docs/events.md).
SUBJECTS: dict[str, str] = {
    "households.round.opened.v1": ROUND,
    "households.household.registered.v1": HOUSEHOLD,
    "households.household.updated.v1": HOUSEHOLD,
    "households.households.registered.v1": "import:5c0e2d7a-1b8f-4e3a-a6d4-9f2b7c1e0a35:1",
    "households.assessment.recorded.v1": _ASSESSMENT["assessment_id"],
    "households.assessments.recorded.v1": "import:5c0e2d7a-1b8f-4e3a-a6d4-9f2b7c1e0a35:1",
    "households.population.recorded.v1": f"population:{ROUND}:08707",
    "households.review.step_changed.v1": f"review:{ROUND}:08707",
    "households.review.reopened.v1": f"review:{ROUND}:08707",
    "households.review.province_approved.v1": f"province-approval:{ROUND}:25",
    "households.units.successions_recorded.v1": "successions:vietnamadminunits 1.0.4:26",
    "indicators.household.class_changed.v1": f"{HOUSEHOLD}:{ROUND}",
    "indicators.household.classes_changed.v1": f"class_changes:{HOUSEHOLD}:{ROUND}",
    "indicators.target.progress_changed.v1": "target:8a6e4c2b-3d1f-4b7a-9e05-c4d2f1a0b396",
    "households.support.recorded.v1": "support:9e2b4d6f-8a1c-4e3b-b5d7-f9a1c3e5b7d2",
    "households.support.withdrawn.v1": "2f7c9a1e-5b3d-4c8e-a6f0-1d2e3b4c5a69",
    "indicators.household.left_behind.v1": f"left_behind:{HOUSEHOLD}:{ROUND}",
    "indicators.households.left_behind.v1": f"left_behind_entries:{HOUSEHOLD}:{ROUND}",
    "identity.access.changed.v1": "user:lan.nguyen",
}
