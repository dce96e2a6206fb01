from typing import Annotated

from fastapi import Depends, Path, Request

from households.review.exceptions import CommuneNotFound, ProvinceNotFound
from households.review.service import Rules
from households.round.dependencies import ValidRound
from households.unit import service as unit_service
from households.unit.models import AdminUnit, UnitLevel
from kit.auth import CallerDep
from kit.db import SessionDep


async def commune_in_scope(
    code: Annotated[str, Path(pattern=r"^\d{5}$", description="The commune's code.")],
    review_round: ValidRound,
    session: SessionDep,
    caller: CallerDep,
) -> AdminUnit:
    """The commune named in the path as of the round's reference date, or 404 (also when
    outside the caller's unit scope)."""
    commune = await unit_service.get_commune(session, code, on=review_round.reference_date)
    if commune is None or not caller.may_see(
        (commune.province_code, commune.district_code, commune.code)
    ):
        raise CommuneNotFound(code)
    return commune


async def province_in_scope(
    code: Annotated[str, Path(pattern=r"^\d{2}$", description="The province's code.")],
    review_round: ValidRound,
    session: SessionDep,
    caller: CallerDep,
) -> AdminUnit:
    """The province named in the path as of the round's reference date, or 404 (also when
    outside the caller's unit scope)."""
    province = await unit_service.get(session, code, on=review_round.reference_date)
    if province is None or province.level is not UnitLevel.province or not caller.may_see([code]):
        raise ProvinceNotFound(code)
    return province


def review_rules(request: Request) -> Rules:
    settings = request.state.settings
    return Rules(min_agreement_percent=settings.REVIEW_MIN_AGREEMENT_PERCENT)


CommuneInScope = Annotated[AdminUnit, Depends(commune_in_scope)]
ProvinceInScope = Annotated[AdminUnit, Depends(province_in_scope)]
ReviewRules = Annotated[Rules, Depends(review_rules)]
