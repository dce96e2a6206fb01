"""Classify one household under one poverty standard: a pure function, no I/O.

Rules (DOMAIN.md §3): the income test is passed at or below the limit ("≤" is inclusive); score A
decides it when recorded, else measured income does. Passed with B >= the poor score is `poor`,
passed with less is `near_poor`. Otherwise measured income in (L, U] is `average`, anything else
`not_poor`: above the line a household is never poor, however many deprivations.
"""

from indicators.classification.evaluators import evaluate
from indicators.classification.schemas import (
    Classification,
    DeprivedIndicator,
    HouseholdClass,
    IncomeTestMethod,
    IncomeTestResult,
)
from indicators.standard.schemas import Standard
from kit.contracts.households import AssessmentRecordedV1

POOR_OR_NEAR_POOR = {HouseholdClass.poor, HouseholdClass.near_poor}


def classify(assessment: AssessmentRecordedV1, standard: Standard) -> Classification:
    """The household's class under `standard`, with the income test and every deprivation."""
    _check_applicable(assessment, standard)
    deprived: list[DeprivedIndicator] = []
    not_evaluated: list[str] = []
    for indicator in standard.indicators:
        if indicator.rule is None:
            not_evaluated.append(indicator.key)
            continue
        finding = evaluate(indicator.rule, assessment, standard)
        if finding is not None:
            deprived.append(
                DeprivedIndicator(
                    key=indicator.key,
                    dimension=indicator.dimension,
                    explanation=finding.explanation,
                    member_nos=list(finding.member_nos),
                )
            )

    score = len(deprived) * standard.deprivation_score.points_per_indicator
    income_test = _income_test(assessment, standard)
    if income_test.passed:
        poor = score >= standard.deprivation_score.poor_min_score
        household_class = HouseholdClass.poor if poor else HouseholdClass.near_poor
    elif income_test.in_average_band:
        household_class = HouseholdClass.average
    else:
        household_class = HouseholdClass.not_poor

    return Classification(
        standard_id=standard.id,
        household_class=household_class,
        area=assessment.area,
        income_test=income_test,
        deprivation_count=len(deprived),
        deprivation_score=score,
        deprived=deprived,
        not_evaluated=not_evaluated,
        provisional=standard.is_provisional,
        low_income_worker_members=_low_income_workers(assessment, standard, household_class),
    )


def _check_applicable(assessment: AssessmentRecordedV1, standard: Standard) -> None:
    if not assessment.members:
        raise ValueError(
            f"assessment {assessment.assessment_id} has no members: a household cannot be "
            "classified without its members"
        )
    # A province's own standard must never classify households of another province.
    province = assessment.unit_path[0] if assessment.unit_path else None
    if standard.province_code is not None and standard.province_code != province:
        raise ValueError(
            f"standard {standard.id} applies to province {standard.province_code} only; "
            f"assessment {assessment.assessment_id} is in {'/'.join(assessment.unit_path)}"
        )


def _income_test(assessment: AssessmentRecordedV1, standard: Standard) -> IncomeTestResult:
    rules = standard.income_test
    line = rules.poverty_line.for_area(assessment.area)
    upper = rules.average_band_upper.for_area(assessment.area)
    score = assessment.income_score_a
    income = assessment.monthly_income_per_person
    in_band = None if income is None else line < income <= upper

    if score is not None:
        method, value = IncomeTestMethod.score, score
        limit = rules.score_cutoff.for_area(assessment.area)
        subject = f"score A {score}"
    elif income is not None:
        method, value, limit = IncomeTestMethod.income, income, line
        subject = f"income {income:,} VND/person/month"
    else:
        raise ValueError(
            f"assessment {assessment.assessment_id} has neither score A nor measured income: "
            "the income test cannot be applied"
        )
    passed = value <= limit
    explanation = f"{subject} {'<=' if passed else '>'} {limit:,} ({assessment.area})"
    if not passed and in_band is not None:
        band = f"({line:,}, {upper:,}]"
        explanation += f"; income {income:,} {'in' if in_band else 'outside'} average band {band}"
    return IncomeTestResult(
        method=method,
        income_score_a=score,
        monthly_income_per_person=income,
        limit_applied=limit,
        income_line=line,
        average_band_upper=upper,
        passed=passed,
        in_average_band=in_band,
        explanation=explanation,
    )


def _low_income_workers(
    assessment: AssessmentRecordedV1, standard: Standard, household_class: HouseholdClass
) -> list[int] | None:
    rule = standard.low_income_worker
    if rule is None:
        return None
    if household_class in POOR_OR_NEAR_POOR:
        return []
    income = assessment.monthly_income_per_person
    if income is None:
        return None
    if income > rule.income_ceiling.for_area(assessment.area):
        return []
    return sorted(
        member.member_no
        for member in assessment.members
        if standard.working_age.by_sex.for_sex(member.sex).contains(member.age_years)
    )
