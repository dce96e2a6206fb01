"""One evaluator per rule kind: is the household deprived, and which facts say so.

Evaluators are registered by the rule's parameter class (`functools.singledispatch`), so a data
file can only name kinds that exist here, and each evaluator receives its own typed parameters.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import singledispatch

from indicators.standard.rules import (
    AdultEducationShortfall,
    ChildMalnourished,
    ChildNotInSchool,
    DependantShareAbove,
    FloorAreaPerPersonBelow,
    MemberWithoutInsurance,
    NoInformationDevice,
    NoInternetUse,
    NonDurableDwelling,
    RuleBase,
    UnhygienicLatrine,
    UnsafeWater,
    WorkingAgeMemberUnemployedOrUncontracted,
)
from indicators.standard.schemas import Standard
from kit.contracts.households import AssessmentRecordedV1, MemberFacts


@dataclass(frozen=True)
class Finding:
    """Why a household is deprived in one indicator."""

    explanation: str
    member_nos: tuple[int, ...] = ()


def _by_members(reasons: Iterable[tuple[MemberFacts, str]]) -> Finding | None:
    """One finding naming each member and what about them triggered it; None if nobody did."""
    ordered = sorted(reasons, key=lambda reason: reason[0].member_no)
    if not ordered:
        return None
    return Finding(
        explanation="; ".join(
            f"member {member.member_no} (age {member.age_years}) {what}" for member, what in ordered
        ),
        member_nos=tuple(member.member_no for member, _ in ordered),
    )


def _names(values: Iterable[str]) -> str:
    return ", ".join(values)


def _number(value: float) -> str:
    return f"{round(value, 2):g}"


@singledispatch
def evaluate(
    rule: RuleBase, assessment: AssessmentRecordedV1, standard: Standard
) -> Finding | None:
    """The finding if the household is deprived under `rule`, else None."""
    raise NotImplementedError(f"no evaluator for rule kind {type(rule).__name__}")


@evaluate.register
def _employment(
    rule: WorkingAgeMemberUnemployedOrUncontracted,
    assessment: AssessmentRecordedV1,
    standard: Standard,
) -> Finding | None:
    reasons = []
    for member in assessment.members:
        if not standard.working_age.by_sex.for_sex(member.sex).contains(member.age_years):
            continue
        if member.working_status in rule.unemployed_statuses:
            reasons.append((member, "is unemployed"))
        # Only a recorded "no contract" counts: an unknown is not evidence of deprivation.
        elif member.working_status in rule.wage_statuses and member.has_labour_contract is False:
            reasons.append((member, "works for wages without a labour contract"))
    return _by_members(reasons)


def _dependant_reason(
    member: MemberFacts, rule: DependantShareAbove, standard: Standard
) -> str | None:
    if rule.child_ages.contains(member.age_years):
        return "child"
    if member.disability in rule.disabilities:
        return f"{member.disability} disability"
    beyond = member.age_years > standard.working_age.by_sex.for_sex(member.sex).max_years
    if beyond and not member.receives_pension_or_allowance:
        return "beyond working age without pension or allowance"
    return None


@evaluate.register
def _dependants(
    rule: DependantShareAbove, assessment: AssessmentRecordedV1, standard: Standard
) -> Finding | None:
    dependants = [
        (member, reason)
        for member in sorted(assessment.members, key=lambda member: member.member_no)
        if (reason := _dependant_reason(member, rule, standard)) is not None
    ]
    total = len(assessment.members)
    # Compare counts, not a rounded ratio: exactly `share` must stay not deprived.
    if len(dependants) <= rule.share * total:
        return None
    listed = _names(f"member {member.member_no} ({reason})" for member, reason in dependants)
    return Finding(
        explanation=(
            f"{len(dependants)} of {total} members are dependants "
            f"({_number(100 * len(dependants) / total)}% > {_number(100 * rule.share)}%): {listed}"
        ),
        member_nos=tuple(member.member_no for member, _ in dependants),
    )


@evaluate.register
def _nutrition(
    rule: ChildMalnourished, assessment: AssessmentRecordedV1, standard: Standard
) -> Finding | None:
    reasons = []
    for member in assessment.members:
        facts = {"stunted": member.stunted, "underweight": member.underweight}
        problems = [problem for problem, present in facts.items() if present]
        if problems and rule.child_ages.contains(member.age_years):
            reasons.append((member, f"is {' and '.join(problems)}"))
    return _by_members(reasons)


@evaluate.register
def _insurance(
    rule: MemberWithoutInsurance, assessment: AssessmentRecordedV1, standard: Standard
) -> Finding | None:
    return _by_members(
        (member, "has no health insurance")
        for member in assessment.members
        if member.age_years >= rule.min_age_years and not member.has_health_insurance
    )


@evaluate.register
def _adult_education(
    rule: AdultEducationShortfall, assessment: AssessmentRecordedV1, standard: Standard
) -> Finding | None:
    reasons = []
    for member in assessment.members:
        band = next((b for b in rule.bands if b.contains(member.age_years)), None)
        if band is None or member.attending_school or member.highest_qualification in band.accepted:
            continue
        expected = f"not one of {_names(band.accepted)} expected at ages {band.label()}"
        reasons.append(
            (member, f"is not in training and holds {member.highest_qualification}, {expected}")
        )
    return _by_members(reasons)


@evaluate.register
def _school_attendance(
    rule: ChildNotInSchool, assessment: AssessmentRecordedV1, standard: Standard
) -> Finding | None:
    reasons = []
    for member in assessment.members:
        band = next((b for b in rule.bands if b.contains(member.age_years)), None)
        if band is None:
            continue
        if not member.attending_school:
            reasons.append((member, "does not attend school"))
        # An unrecorded level is not evidence of the wrong level: only a recorded one is judged.
        elif member.school_level is not None and member.school_level not in band.levels:
            expected = f"not {_names(band.levels)} expected at ages {band.label()}"
            reasons.append((member, f"attends {member.school_level}, {expected}"))
    return _by_members(reasons)


@evaluate.register
def _housing_quality(
    rule: NonDurableDwelling, assessment: AssessmentRecordedV1, standard: Standard
) -> Finding | None:
    dwelling = assessment.dwelling
    if not dwelling.has_dwelling:
        return Finding("has no dwelling")
    parts = {
        "walls": dwelling.walls_durable,
        "columns": dwelling.columns_durable,
        "roof": dwelling.roof_durable,
    }
    non_durable = [part for part, durable in parts.items() if not durable]
    if len(non_durable) < rule.min_non_durable_parts:
        return None
    return Finding(
        f"{len(non_durable)} of 3 main parts non-durable ({_names(non_durable)}); "
        f"{rule.min_non_durable_parts} or more make the dwelling non-durable"
    )


@evaluate.register
def _floor_area(
    rule: FloorAreaPerPersonBelow, assessment: AssessmentRecordedV1, standard: Standard
) -> Finding | None:
    area = assessment.dwelling.floor_area_m2
    members = len(assessment.members)
    # Multiply rather than divide so that exactly the minimum per person is never "below" it.
    if area >= rule.min_m2_per_person * members:
        return None
    return Finding(
        f"floor area {round(area, 2)} m2 for {members} members = "
        f"{round(area / members, 2)} m2/person < {_number(rule.min_m2_per_person)}"
    )


@evaluate.register
def _water(
    rule: UnsafeWater, assessment: AssessmentRecordedV1, standard: Standard
) -> Finding | None:
    if assessment.water_source in rule.safe_sources:
        return None
    safe = _names(rule.safe_sources)
    return Finding(f"water source {assessment.water_source} is not one of {safe}")


@evaluate.register
def _latrine(
    rule: UnhygienicLatrine, assessment: AssessmentRecordedV1, standard: Standard
) -> Finding | None:
    if assessment.latrine in rule.hygienic:
        return None
    return Finding(f"latrine {assessment.latrine} is not one of {_names(rule.hygienic)}")


@evaluate.register
def _internet(
    rule: NoInternetUse, assessment: AssessmentRecordedV1, standard: Standard
) -> Finding | None:
    return None if assessment.internet_use else Finding("no member uses internet services")


@evaluate.register
def _devices(
    rule: NoInformationDevice, assessment: AssessmentRecordedV1, standard: Standard
) -> Finding | None:
    if any(device in rule.devices for device in assessment.devices):
        return None
    owned = _names(assessment.devices) or "nothing"
    return Finding(f"owns none of {_names(rule.devices)} (owns: {owned})")
