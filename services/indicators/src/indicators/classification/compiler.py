"""A standard's rules turned into SQL: the set-wise twin of `engine.py` and `evaluators.py`.

Rule kinds stay code, one SQL builder per kind mirroring its evaluator; every number and list
(thresholds, ages, safe sources, devices, income lines, cut-offs) comes from the standard's data,
bound as parameters. The statement is SQLAlchemy Core over the facts tables (`facts/models.py`),
so the same one runs on SQLite (embedded) and PostgreSQL (distributed).

The Python engine is the reference: `tests/classification/test_compiler.py` checks that both give
the same class and deprived indicators on random households around the standard's boundaries.
"""

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce, singledispatch

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    Subquery,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)

from indicators.facts.models import AssessmentFacts, MemberFact
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
from indicators.standard.values import AgeRange, ByArea
from kit.contracts.households import Area, Sex
from kit.db import table_of

HOUSEHOLDS = table_of(AssessmentFacts)
MEMBERS = table_of(MemberFact)
H, M = HOUSEHOLDS.c, MEMBERS.c


@dataclass(frozen=True)
class Context:
    """What a rule's builder needs besides the facts tables: the standard."""

    standard: Standard

    def members_where(self, condition: ColumnElement[bool]) -> ColumnElement[int]:
        """How many of the household's members meet `condition`: an aggregate of the one
        GROUP BY household over the join of households and members (no subquery per
        indicator, and no plan that could re-run a member subquery for every household)."""
        return func.sum(case((condition, 1), else_=0))

    def in_working_age(self) -> ColumnElement[bool]:
        ages = self.standard.working_age.by_sex
        female = M.sex == Sex.female.value
        return or_(
            and_(female, _aged(M.age_years, ages.female)),
            and_(not_(female), _aged(M.age_years, ages.male)),
        )

    def beyond_working_age(self) -> ColumnElement[bool]:
        ages = self.standard.working_age.by_sex
        female = M.sex == Sex.female.value
        return or_(
            and_(female, M.age_years > ages.female.max_years),
            and_(not_(female), M.age_years > ages.male.max_years),
        )


def _aged(age: int | ColumnElement[int], ages: AgeRange) -> ColumnElement[bool]:
    return and_(literal(ages.min_years) <= age, literal(ages.max_years) >= age)


def _values(values: Sequence[str]) -> list[str]:
    return [str(value) for value in values]


def _by_area(values: ByArea) -> ColumnElement[int]:
    return case((H.area == Area.urban.value, values.urban), else_=values.rural)


@singledispatch
def deprived_sql(rule: RuleBase, context: Context) -> ColumnElement[bool]:
    """True for a household deprived under `rule`: the SQL of the rule kind's evaluator."""
    raise NotImplementedError(f"no SQL builder for rule kind {type(rule).__name__}")


@deprived_sql.register
def _employment(
    rule: WorkingAgeMemberUnemployedOrUncontracted, context: Context
) -> ColumnElement[bool]:
    member = M
    uncontracted = and_(
        member.working_status.in_(_values(rule.wage_statuses)),
        member.has_labour_contract == false(),  # an unknown contract is not evidence
    )
    condition = and_(
        context.in_working_age(),
        or_(member.working_status.in_(_values(rule.unemployed_statuses)), uncontracted),
    )
    return context.members_where(condition) > 0


@deprived_sql.register
def _dependants(rule: DependantShareAbove, context: Context) -> ColumnElement[bool]:
    member = M
    dependant = or_(
        _aged(member.age_years, rule.child_ages),
        member.disability.in_(_values(rule.disabilities)),
        and_(context.beyond_working_age(), member.receives_pension_or_allowance == false()),
    )
    dependants = context.members_where(dependant)
    # As the evaluator: count against share × members in floating point, so exactly the share
    # stays not deprived.
    return dependants > literal(rule.share, Float) * H.persons


@deprived_sql.register
def _nutrition(rule: ChildMalnourished, context: Context) -> ColumnElement[bool]:
    member = M
    condition = and_(
        or_(member.stunted == true(), member.underweight == true()),
        _aged(member.age_years, rule.child_ages),
    )
    return context.members_where(condition) > 0


@deprived_sql.register
def _insurance(rule: MemberWithoutInsurance, context: Context) -> ColumnElement[bool]:
    member = M
    condition = and_(member.age_years >= rule.min_age_years, member.has_health_insurance == false())
    return context.members_where(condition) > 0


@deprived_sql.register
def _adult_education(rule: AdultEducationShortfall, context: Context) -> ColumnElement[bool]:
    member = M
    # Bands do not overlap (validated), so "the band of the member's age" is any band matching.
    short = or_(
        *(
            and_(
                _aged(member.age_years, band),
                member.highest_qualification.not_in(_values(band.accepted)),
            )
            for band in rule.bands
        )
    )
    condition = and_(member.attending_school == false(), short)
    return context.members_where(condition) > 0


@deprived_sql.register
def _school_attendance(rule: ChildNotInSchool, context: Context) -> ColumnElement[bool]:
    member = M
    out_of_school = or_(
        *(
            and_(
                _aged(member.age_years, band),
                or_(
                    member.attending_school == false(),
                    # An unrecorded level is not evidence of the wrong level.
                    and_(
                        member.school_level.is_not(None),
                        member.school_level.not_in(_values(band.levels)),
                    ),
                ),
            )
            for band in rule.bands
        )
    )
    return context.members_where(out_of_school) > 0


@deprived_sql.register
def _housing_quality(rule: NonDurableDwelling, context: Context) -> ColumnElement[bool]:
    facts = H
    non_durable = sum((case((part == false(), 1), else_=0) for part in _parts()), start=literal(0))
    return or_(facts.has_dwelling == false(), non_durable >= rule.min_non_durable_parts)


def _parts() -> tuple[ColumnElement[bool], ...]:
    return (H.walls_durable, H.columns_durable, H.roof_durable)


@deprived_sql.register
def _floor_area(rule: FloorAreaPerPersonBelow, context: Context) -> ColumnElement[bool]:
    facts = H
    # Multiplied as the evaluator does, so that exactly the minimum per person is not below it.
    return facts.floor_area_m2 < literal(rule.min_m2_per_person, Float) * facts.persons


@deprived_sql.register
def _water(rule: UnsafeWater, context: Context) -> ColumnElement[bool]:
    return H.water_source.not_in(_values(rule.safe_sources))


@deprived_sql.register
def _latrine(rule: UnhygienicLatrine, context: Context) -> ColumnElement[bool]:
    return H.latrine.not_in(_values(rule.hygienic))


@deprived_sql.register
def _internet(rule: NoInternetUse, context: Context) -> ColumnElement[bool]:
    return H.internet_use == false()


@deprived_sql.register
def _devices(rule: NoInformationDevice, context: Context) -> ColumnElement[bool]:
    owned = [H.devices.contains(f"|{device}|", autoescape=True) for device in _values(rule.devices)]
    return not_(or_(*owned))


@dataclass(frozen=True)
class Compiled:
    """A standard's classification as a subquery: one row per household, with the columns

    `assessment_id`, `household_id`, `unit_path`, `area`, `persons`, `record_key`,
    `classified_under` (see `facts/models.py`), one 0/1 column
    `deprived_<key>` per evaluated indicator, `deprivation_count`, `household_class` (NULL when
    the income test cannot be applied: neither score A nor income), `limit_applied`,
    `income_line`, `average_band_upper`."""

    standard: Standard
    rows: Subquery

    @property
    def indicator_keys(self) -> list[str]:
        return [i.key for i in self.standard.indicators if i.rule is not None]

    def deprived(self, key: str) -> ColumnElement[int]:
        return self.rows.c[f"deprived_{key}"]

    def in_dimension(self, dimension: str) -> ColumnElement[int]:
        """1 when the household is deprived in any indicator of the dimension."""
        keys = [
            i.key
            for i in self.standard.indicators
            if i.rule is not None and i.dimension == dimension
        ]
        if not keys:
            return literal(0)
        return case((or_(*(self.deprived(key) == 1 for key in keys)), 1), else_=0)

    def deprived_keys(self) -> ColumnElement[str]:
        """The deprived indicators' keys in sorted order, each followed by a comma."""
        parts = [
            case((self.deprived(key) == 1, f"{key},"), else_="")
            for key in sorted(self.indicator_keys)
        ]
        # `+` on strings is SQL's `||`, which SQLite knows (its concat() is recent).
        return reduce(operator.add, parts, literal(""))


def compile_standard(
    standard: Standard, *where: ColumnElement[bool], name: str = "classified"
) -> Compiled:
    """Every household of the facts table meeting `where`, classified under `standard`."""
    context = Context(standard)
    flags = {
        indicator.key: deprived_sql(indicator.rule, context)
        for indicator in standard.indicators
        if indicator.rule is not None
    }
    facts = H
    conditions = list(where)
    if standard.province_code is not None:
        # A province's own standard never classifies households of another province.
        conditions.append(
            facts.unit_path.startswith(f"/{standard.province_code}/", autoescape=True)
        )
    income = standard.income_test
    line = _by_area(income.poverty_line)
    score = facts.income_score_a
    measured = facts.monthly_income_per_person
    flagged = (
        select(
            facts.assessment_id,
            facts.household_id,
            facts.unit_path,
            facts.area,
            facts.persons,
            facts.record_key,
            facts.classified_under,
            score.label("income_score_a"),
            measured.label("monthly_income_per_person"),
            case((score.is_not(None), _by_area(income.score_cutoff)), else_=line).label(
                "limit_applied"
            ),
            line.label("income_line"),
            _by_area(income.average_band_upper).label("average_band_upper"),
            *(case((flag, 1), else_=0).label(f"deprived_{key}") for key, flag in flags.items()),
        )
        .select_from(HOUSEHOLDS.join(MEMBERS, M.assessment_id == H.assessment_id))
        .where(*conditions)
        # Households' other columns depend on their key: PostgreSQL and SQLite accept them.
        .group_by(H.assessment_id)
        .subquery("flagged")
    )
    count = sum((flagged.c[f"deprived_{key}"] for key in flags), start=literal(0))
    points = standard.deprivation_score
    score_c, income_c = flagged.c.income_score_a, flagged.c.monthly_income_per_person
    passed = or_(
        and_(score_c.is_not(None), score_c <= flagged.c.limit_applied),
        and_(score_c.is_(None), income_c <= flagged.c.limit_applied),
    )
    household_class = case(
        (and_(score_c.is_(None), income_c.is_(None)), null()),
        (and_(passed, count * points.points_per_indicator >= points.poor_min_score), "poor"),
        (passed, "near_poor"),
        (
            and_(
                income_c.is_not(None),
                income_c > flagged.c.income_line,
                income_c <= flagged.c.average_band_upper,
            ),
            "average",
        ),
        else_="not_poor",
    )
    statement: Select[tuple[object, ...]] = select(
        *flagged.c, count.label("deprivation_count"), household_class.label("household_class")
    )
    return Compiled(standard, statement.subquery(name))
