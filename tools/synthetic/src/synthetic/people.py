"""The members of a synthetic household: who lives together, and each member's facts.

The household's shape (`Kind`) fixes ages, sexes and relations; each member's schooling, work,
pension, disability and qualification then follow from age and the household's standing; last,
household-level drivers (an uninsured adult, a malnourished child, a young adult short of schooling,
a child out of school) are laid on members they can apply to.
"""

import random
from bisect import bisect
from collections.abc import Callable, Sequence

from kit.contracts.households import (
    Disability,
    Qualification,
    Relation,
    SchoolLevel,
    Sex,
    WorkingStatus,
)
from synthetic.calibration import Kind, Profile
from synthetic.draws import MAX_AGE, Chances, Context, Payload, cumulative

# Enum members bound to names: attribute access on an enum class is slow in Python 3.11.
MALE, FEMALE = Sex.male, Sex.female
HEAD, SPOUSE, CHILD, PARENT = Relation.head, Relation.spouse, Relation.child, Relation.parent
GRANDCHILD, IN_LAW = Relation.grandchild, Relation.other_relative
STUDENT, NOT_WORKING = WorkingStatus.student, WorkingStatus.not_working_other
UNABLE, UNEMPLOYED = WorkingStatus.unable_to_work, WorkingStatus.unemployed
HOMEMAKER, WAGE_WORKER = WorkingStatus.homemaker, WorkingStatus.wage_worker
SELF_EMPLOYED, RETIRED = WorkingStatus.self_employed, WorkingStatus.retired
PRESCHOOL, PRIMARY_SCHOOL = SchoolLevel.preschool, SchoolLevel.primary
LOWER_SCHOOL, UPPER_SCHOOL = SchoolLevel.lower_secondary, SchoolLevel.upper_secondary
VOCATIONAL_SCHOOL = SchoolLevel.vocational
NO_DISABILITY, MILD = Disability.none, Disability.mild
SEVERE, ESPECIALLY_SEVERE = Disability.severe, Disability.especially_severe
(NONE, PRIMARY, LOWER, UPPER, VOCATIONAL, COLLEGE, UNIVERSITY) = QUALIFICATIONS = tuple(
    Qualification
)
KINDS = tuple(Kind)
(SINGLE_ELDER, ELDER_COUPLE, SINGLE_ADULT, COUPLE, NUCLEAR, SINGLE_PARENT) = KINDS[:6]
THREE_GENERATIONS, WITH_PARENTS = KINDS[6:]

Person = tuple[int, Sex, Relation]


def household_members(
    rng: random.Random, context: Context, chances: Chances
) -> tuple[list[Payload], list[int]]:
    """The members as `MemberInput` takes them, head first, and their ages on the reference date."""
    roster = _roster(rng, chances)
    names = _names(rng, roster)
    members = [
        _member(rng, context, chances, person, name)
        for person, name in zip(roster, names, strict=True)
    ]
    ages = [age for age, _, _ in roster]
    _household_shortfalls(rng, chances.profile, ages, members)
    return members, ages


def _roster(rng: random.Random, chances: Chances) -> list[Person]:
    """Ages, sexes and relations: children at least 20 years younger than their mother, parents
    22 or more years older than the head, grandchildren 40 or more years younger."""
    r = rng.random
    kind = KINDS[bisect(chances.kinds, r())]
    children = 1 + bisect(chances.children, r())
    if kind is SINGLE_ELDER:
        return [(60 + int(r() ** 2 * 36), FEMALE if r() < 0.7 else MALE, HEAD)]
    if kind is ELDER_COUPLE:
        age, sex = 60 + int(r() ** 1.8 * 31), MALE if r() < 0.85 else FEMALE
        return [(age, sex, HEAD), _spouse(r, age, sex, SPOUSE)]
    if kind is SINGLE_ADULT:
        return [(20 + int(r() * 40), MALE if r() < 0.55 else FEMALE, HEAD)]
    if kind is COUPLE:
        age = 22 + int(r() * 13) if r() < 0.45 else 45 + int(r() * 15)
        sex = MALE if r() < 0.85 else FEMALE
        return [(age, sex, HEAD), _spouse(r, age, sex, SPOUSE)]
    if kind is SINGLE_PARENT:
        age, sex = 25 + int(r() * 35), FEMALE if r() < 0.8 else MALE
        mother = age if sex is FEMALE else age - 3
        return [(age, sex, HEAD), *_children(r, mother, min(children, 3), CHILD)]
    if kind is THREE_GENERATIONS:
        age, sex = 56 + int(r() ** 1.6 * 32), MALE if r() < 0.7 else FEMALE
        people = [(age, sex, HEAD)]
        if r() < (0.75 if age < 75 else 0.45):
            people.append(_spouse(r, age, sex, SPOUSE))
        adult_age, adult_sex = age - 22 - int(r() * 14), MALE if r() < 0.7 else FEMALE
        people.append((adult_age, adult_sex, CHILD))
        mother = adult_age
        if r() < 0.85:
            in_law = _spouse(r, adult_age, adult_sex, IN_LAW)
            people.append(in_law)
            mother = in_law[0] if adult_sex is MALE else adult_age
        return people + _children(r, mother, children, GRANDCHILD)
    # nuclear, or with the head's parents
    age = 25 + int(r() ** 1.2 * 30) if kind is NUCLEAR else 27 + int(r() * 28)
    sex = MALE if r() < 0.85 else FEMALE
    people = [(age, sex, HEAD)]
    mother = age if sex is FEMALE else age - 3
    if r() < 0.95:
        spouse = _spouse(r, age, sex, SPOUSE)
        people.append(spouse)
        mother = spouse[0] if sex is MALE else age
    people += _children(r, mother, children, CHILD)
    if kind is WITH_PARENTS:
        parents = (MALE, FEMALE) if r() < 0.4 else (FEMALE if r() < 0.65 else MALE,)
        for parent_sex in parents:
            parent_age = age + 22 + int(r() * 16)
            if parent_age <= MAX_AGE:
                people.append((parent_age, parent_sex, PARENT))
    return people


def _spouse(r: Callable[[], float], age: int, sex: Sex, relation: Relation) -> Person:
    """A husband usually 1-5 years older than his wife; at least 18, at most MAX_AGE."""
    gap = 3 + int(5 * (r() - r()))  # -1 to 7, 3 most often
    spouse_age = age - gap if sex is MALE else age + gap
    return (min(MAX_AGE, max(18, spouse_age)), FEMALE if sex is MALE else MALE, relation)


def _children(r: Callable[[], float], mother: int, count: int, relation: Relation) -> list[Person]:
    """Up to `count` children, the eldest born when the mother was 20-28; adults often left."""
    children = []
    age = mother - 20 - int(r() * 9)
    for _ in range(count):
        if age < 0:
            break
        if age < 18 or r() < (0.75 if age < 25 else 0.4 if age < 35 else 0.0):
            children.append((age, MALE if r() < 0.51 else FEMALE, relation))
        age -= 1 + int(r() * 4)
    return children


FAMILY_NAMES = (
    ("Nguyễn", 36),
    ("Trần", 11),
    ("Lê", 9),
    ("Phạm", 7),
    ("Hoàng", 4),
    ("Vũ", 4),
    ("Phan", 3),
    ("Đỗ", 3),
    ("Đặng", 2),
    ("Bùi", 2),
    ("Ngô", 2),
    ("Dương", 2),
    ("Lưu", 2),
    ("Phùng", 2),
    ("Hà", 2),
    ("Kim", 1),
    ("Tạ", 1),
    ("Khổng", 1),
)
FAMILY_POOL = tuple(name for name, weight in FAMILY_NAMES for _ in range(weight))
MALE_MIDDLE = "Văn Văn Văn Đức Minh Quang Hữu Xuân Công Thanh".split()
FEMALE_MIDDLE = "Thị Thị Thị Thị Ngọc Thu Thanh Thùy Hồng Minh".split()
MALE_GIVEN = (
    "Hùng Dũng Tuấn Nam Hải Long Thắng Quân Khoa Bình Sơn Phúc Cường Hiếu Trung Huy Tùng Thành "
    "Toàn Việt"
).split()
FEMALE_GIVEN = (
    "Lan Hoa Hương Mai Linh Trang Hà Thảo Hạnh Nga Yến Huyền Nhung Phương Vy Anh Chi Ngân Thủy Dung"
).split()
# Middle and given names together, each pair as likely as the two draws would make it.
MALE_NAMES = tuple(f" {middle} {given}" for middle in MALE_MIDDLE for given in MALE_GIVEN)
FEMALE_NAMES = tuple(f" {middle} {given}" for middle in FEMALE_MIDDLE for given in FEMALE_GIVEN)


def _names(rng: random.Random, roster: Sequence[Person]) -> list[str]:
    """Full names: children and grandchildren carry the family name of the head's line."""
    r = rng.random
    pool, size = FAMILY_POOL, len(FAMILY_POOL)
    head_family = line = pool[int(r() * size)]
    if roster[0][1] is FEMALE and len(roster) > 1 and roster[1][2] is SPOUSE:
        line = pool[int(r() * size)]  # the husband's
    names = []
    for index, (_, sex, relation) in enumerate(roster):
        if index == 0 or (relation is PARENT and sex is MALE):
            family = head_family
        elif relation is CHILD or relation is GRANDCHILD or (relation is SPOUSE and sex is MALE):
            family = line
        else:
            family = pool[int(r() * size)]
        given = MALE_NAMES if sex is MALE else FEMALE_NAMES
        names.append(family + given[int(r() * len(given))])
    return names


SEVERE_DISABILITY = ((15, 0.003), (60, 0.006), (80, 0.025), (MAX_AGE + 1, 0.07))  # under age
SEVERE_BY_AGE = [
    next(rate for limit, rate in SEVERE_DISABILITY if age < limit) for age in range(MAX_AGE + 1)
]
MILD_PER_SEVERE = 4.0
# (up to age, shares of NONE, PRIMARY, LOWER, UPPER, VOCATIONAL, COLLEGE, UNIVERSITY) for people
# out of school aged 18+. Ages 18-30 hold what the standard expects of them: a shortfall is a
# household driver (`undereducated`).
ADULT_QUALIFICATIONS = (
    (30, (0.0, 0.0, 0.0, 0.50, 0.14, 0.09, 0.27)),
    (45, (0.0, 0.04, 0.24, 0.40, 0.12, 0.07, 0.13)),
    (60, (0.01, 0.12, 0.40, 0.30, 0.07, 0.03, 0.07)),
    (75, (0.04, 0.30, 0.40, 0.16, 0.04, 0.02, 0.04)),
    (MAX_AGE, (0.20, 0.45, 0.25, 0.06, 0.02, 0.0, 0.02)),
)
QUALIFICATIONS_BY_AGE = [
    next(cumulative(shares) for limit, shares in ADULT_QUALIFICATIONS if age <= limit)
    for age in range(MAX_AGE + 1)
]
TERTIARY_BOUNDS = cumulative((0.6, 0.15, 0.25))
TERTIARY = (SchoolLevel.university, SchoolLevel.college, VOCATIONAL_SCHOOL)


def _member(
    rng: random.Random, context: Context, chances: Chances, person: Person, name: str
) -> Payload:
    r = rng.random
    profile = chances.profile
    age, sex, relation = person
    day = context.first_birth[age] + int(r() * context.birth_span[age])
    birth, cohort = context.births[day], context.cohorts[day]

    attending, level = False, None
    if cohort <= 2:
        attending, level = cohort >= 1 and r() < 0.3, PRESCHOOL
    elif cohort <= 14:
        attending = True
        level = PRESCHOOL if cohort <= 5 else PRIMARY_SCHOOL if cohort <= 10 else LOWER_SCHOOL
    elif cohort <= 17:
        attending = r() < profile.upper_secondary
        level = UPPER_SCHOOL if r() < 0.88 else VOCATIONAL_SCHOOL
    elif cohort <= 22:
        attending = r() < profile.tertiary
        level = TERTIARY[bisect(TERTIARY_BOUNDS, r())]

    if attending or cohort < 18:  # what the years of school behind them give
        qualification = (
            UPPER if cohort >= 18 else LOWER if cohort >= 15 else PRIMARY if cohort >= 11 else NONE
        )
    else:
        step = bisect(QUALIFICATIONS_BY_AGE[age], r())
        if age > 30 and step > 0 and r() < profile.lower_education:
            step -= 1
        if age < 22 and step > 4:  # too young for a college or university degree
            step = 3
        qualification = QUALIFICATIONS[step]

    disability = NO_DISABILITY
    severe = SEVERE_BY_AGE[age] * profile.disability
    draw = r()
    if draw < severe:
        disability = ESPECIALLY_SEVERE if draw < severe * 0.3 else SEVERE
    elif draw < severe * (1 + MILD_PER_SEVERE):
        disability = MILD
    disabled = draw < severe

    elderly = age >= (61 if sex is MALE else 56)  # the statutory retirement ages of 2024
    allowance = (elderly and (age >= 80 or r() < profile.pension)) or (disabled and r() < 0.8)

    contract = None
    if age < 15 or attending:
        status = STUDENT if attending and age >= 5 else NOT_WORKING
    elif disabled:
        status = UNABLE
    elif not elderly:
        draw = r()
        if draw < profile.unemployed:
            status = UNEMPLOYED
        elif draw < profile.unemployed + (0.08 if sex is FEMALE else 0.01):
            status = HOMEMAKER
        elif r() < chances.wage_share:
            status, contract = WAGE_WORKER, r() >= profile.no_contract
        else:
            status = SELF_EMPLOYED
    elif allowance and age < 80:
        status = RETIRED
    else:
        status = SELF_EMPLOYED if age < 70 and r() < 0.5 else NOT_WORKING

    return {
        "full_name": name,
        "birth_date": birth,
        "sex": sex,
        "relation_to_head": relation,
        "working_status": status,
        "has_labour_contract": contract,
        "receives_pension_or_allowance": allowance,
        "disability": disability,
        "has_health_insurance": True,
        "attending_school": attending,
        "school_level": level if attending else None,
        "highest_qualification": qualification,
        "stunted": False,
        "underweight": False,
    }


def _household_shortfalls(
    rng: random.Random, profile: Profile, ages: Sequence[int], members: list[Payload]
) -> None:
    """Household-level drivers: uninsured members, a malnourished child, a young adult short of
    the expected schooling, a child out of school."""
    r = rng.random
    if r() < profile.uninsured:  # children under 6, pupils and the 80+ are covered for free
        eligible = [
            member
            for member, age in zip(members, ages, strict=True)
            if 6 <= age < 80 and member["working_status"] is not STUDENT
        ]
        first = int(r() * len(eligible))
        for index, member in enumerate(eligible):
            if index == first or r() < 0.4:
                member["has_health_insurance"] = False
    if r() < profile.malnourished:
        children = [(age, index) for index, age in enumerate(ages) if age < 16]
        if children:
            child = members[min(children)[1]]  # the youngest
            draw = r()
            child["stunted"], child["underweight"] = draw < 0.8, draw >= 0.6
    if r() < profile.undereducated:
        young = [
            (member, age)
            for member, age in zip(members, ages, strict=True)
            if 16 <= age <= 30 and not member["attending_school"]
        ]
        if young:
            member, age = young[int(r() * len(young))]
            member["highest_qualification"] = PRIMARY if age < 18 or r() < 0.3 else LOWER
    if r() < profile.dropout:
        pupils = [
            member
            for member, age in zip(members, ages, strict=True)
            if 3 <= age < 16 and member["attending_school"]
        ]
        if pupils:
            pupil = pupils[int(r() * len(pupils))]
            pupil["attending_school"], pupil["school_level"] = False, None
            pupil["working_status"] = NOT_WORKING
