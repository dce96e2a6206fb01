"""A synthetic household's living conditions and income: the assessment around its members.

Dwelling, water, latrine, internet use and information devices follow the standing's drivers and
the commune (urban households have piped water and septic tanks more often); score A and measured
income put the household on its side of the income test and of the average band.
"""

import math
import random
from bisect import bisect
from collections.abc import Callable

from kit.contracts.households import Device, Latrine, WaterSource
from synthetic.calibration import Calibration, Profile, Standing
from synthetic.draws import Payload, cumulative

LOW, MODEST = Standing.low, Standing.modest

SAFE_WATER = {
    True: (
        cumulative((0.93, 0.04, 0.02, 0.01)),
        (
            WaterSource.piped,
            WaterSource.drilled_well,
            WaterSource.bottled,
            WaterSource.protected_dug_well,
        ),
    ),
    False: (
        cumulative((0.62, 0.25, 0.08, 0.03, 0.02)),
        (
            WaterSource.piped,
            WaterSource.drilled_well,
            WaterSource.protected_dug_well,
            WaterSource.rainwater,
            WaterSource.protected_spring,
        ),
    ),
}
UNSAFE_WATER = (
    cumulative((0.5, 0.15, 0.2, 0.1, 0.05)),
    (
        WaterSource.unprotected_dug_well,
        WaterSource.unprotected_spring,
        WaterSource.surface_water,
        WaterSource.vendor,
        WaterSource.other,
    ),
)
HYGIENIC_LATRINE = {
    True: (cumulative((0.96, 0.04)), (Latrine.septic, Latrine.semi_septic)),
    False: (
        cumulative((0.72, 0.15, 0.08, 0.04, 0.01)),
        (
            Latrine.septic,
            Latrine.semi_septic,
            Latrine.pour_flush,
            Latrine.double_vault,
            Latrine.ventilated_pit,
        ),
    ),
}
UNHYGIENIC_LATRINE = (
    cumulative((0.6, 0.1, 0.15, 0.15)),
    (Latrine.simple_pit, Latrine.hanging, Latrine.none, Latrine.other),
)
# (device, is an internet device, chance when someone uses internet, chance otherwise), in the
# enum's order. The information-device indicator counts everything but a basic phone.
DEVICES = (
    (Device.tv, False, 0.90, 0.80),
    (Device.radio, False, 0.05, 0.10),
    (Device.desktop_computer, True, 0.08, 0.0),
    (Device.laptop, True, 0.20, 0.0),
    (Device.tablet, True, 0.10, 0.0),
    (Device.smartphone, True, 0.96, 0.25),
)
TV, SMARTPHONE, BASIC_PHONE = Device.tv, Device.smartphone, Device.basic_phone


def household_assessment(
    rng: random.Random,
    calibration: Calibration,
    profile: Profile,
    standing: Standing,
    urban: bool,
    members: list[Payload],
    ages: list[int],
) -> Payload:
    """The `AssessmentInput` payload of a household of `members` (aged `ages`)."""
    r = rng.random

    has_dwelling = r() >= profile.no_dwelling
    walls = columns = roof = has_dwelling
    floor_area = 0.0
    if has_dwelling:
        if r() < profile.non_durable:  # two or three main parts non-durable
            draw = r()
            walls, columns, roof = draw < 0.2, 0.2 <= draw < 0.4, 0.4 <= draw < 0.6
        elif r() < 0.06:
            roof = False  # a single non-durable part leaves the dwelling durable
        if r() < profile.cramped:
            per_person = 4.0 + 3.9 * r()
        else:
            per_person = math.exp((3.3 if urban else 3.18) + 0.45 * rng.gauss(0.0, 1.0))
            if per_person < 8.5:
                per_person = 8.5 + 4 * r()
        floor_area = math.ceil(per_person * len(members) * 10) / 10  # never rounded below 8/m

    bounds, sources = UNSAFE_WATER if r() < profile.unsafe_water else SAFE_WATER[urban]
    water = sources[bisect(bounds, r())]
    bounds, latrines = (
        UNHYGIENIC_LATRINE if r() < profile.unhygienic_latrine else HYGIENIC_LATRINE[urban]
    )
    latrine = latrines[bisect(bounds, r())]

    elderly_only = min(ages) >= 60
    online = r() >= (profile.offline_elderly if elderly_only else profile.offline)
    if r() < (profile.no_device_online if online else profile.no_device_offline):
        devices = [BASIC_PHONE] if r() < 0.5 else []
    else:
        devices, connected = [], False
        for device, internet, when_online, when_offline in DEVICES:
            if r() < (when_online if online else when_offline):
                devices.append(device)
                connected = connected or internet
        if not devices:
            devices.append(TV)
        if online and not connected:
            devices.append(SMARTPHONE)
        if r() < (0.1 if online else 0.5):
            devices.append(BASIC_PHONE)

    score, income = _income(r, rng.gauss, calibration, standing, urban)
    return {
        "members": members,
        "dwelling": {
            "has_dwelling": has_dwelling,
            "walls_durable": walls,
            "columns_durable": columns,
            "roof_durable": roof,
            "floor_area_m2": floor_area,
        },
        "water_source": water,
        "latrine": latrine,
        "internet_use": online,
        "devices": devices,
        "income_score_a": score,
        "monthly_income_per_person": income,
    }


def _income(
    r: Callable[[], float],
    gauss: Callable[[float, float], float],
    calibration: Calibration,
    standing: Standing,
    urban: bool,
) -> tuple[int | None, int | None]:
    """Score A and measured income per person per month (VND, whole tens of thousands)."""
    cutoff = calibration.score_cutoff.of(urban)
    line = calibration.income_line.of(urban)
    upper = calibration.band_upper.of(urban)
    score: int | None
    if standing <= LOW:  # the income test passes: score at or under the cut-off
        score = max(0, cutoff - int(r() * 60))
        recorded = r() < calibration.income_recorded
        return score, 10_000 * int(line * (0.45 + 0.55 * r()) / 10_000) if recorded else None
    if standing is MODEST:  # fails on the score, if any; income in the band (L, U]
        income = line + 10_000 * (1 + int(r() * ((upper - line) // 10_000)))
        return (cutoff + 1 + int(r() * 40) if r() < 0.6 else None), income
    score = min(1000, cutoff + 1 + int(-110 * math.log(1.0 - r())))
    if r() >= calibration.score_recorded:
        score = None  # measured income only
    elif r() >= calibration.income_recorded:
        return score, None
    median = calibration.income_median.of(urban)
    for _ in range(8):
        income = 10_000 * round(median * math.exp(0.55 * gauss(0.0, 1.0)) / 10_000)
        if income > upper:
            return score, income
    return score, upper + 10_000 * (1 + int(r() * 100))
