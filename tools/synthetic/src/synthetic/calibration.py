"""The numbers behind the synthetic province, in one place.

They are plausibility settings, not statistics: tuned so that a province generated with the
defaults, classified under `VN-2022-2025`, shows about 1% poor and 1.7% near-poor households (Vĩnh
Phúc's end-2022 figures, DOMAIN.md §1) and information deprivation near the national 2021 shares
(§8: 2.0% of households deprived in telecom use, 4.5% in information devices), with rural communes
worse off than urban ones. Households average about 3.4 members (Vietnam's 2019 census: 3.5).

Each household is first given a *standing*: `low_deprived` and `low` pass the income test (score A
at or below the cut-off), `modest` has a measured income in the average band, `comfortable` is
above it. The standing then sets the chance of every deprivation driver (an uninsured member, a
non-durable dwelling, ...), multiplied by the commune's *risk*: urban and rural relative risks
times a commune effect, normalised to a mean of 1 over the communes generated, so that the
province totals hold whatever its urban share.
"""

from dataclasses import dataclass, field
from enum import IntEnum


class Standing(IntEnum):
    low_deprived = 0  # passes the income test, many deprivation drivers: mostly poor
    low = 1  # passes the income test, few drivers: mostly near-poor
    modest = 2  # measured income in the average band (L, U]
    comfortable = 3  # above the average band


class Kind(IntEnum):
    """The household's shape, which fixes its roster before any member's facts are drawn."""

    single_elder = 0  # one person aged 60+
    elder_couple = 1  # head aged 60+ and spouse
    single_adult = 2  # one person of working age
    couple = 3  # head and spouse, no children at home
    nuclear = 4  # head, usually a spouse, 1-4 children
    single_parent = 5  # head and 1-3 children
    three_generations = 6  # elderly head, an adult child with spouse, grandchildren
    with_parents = 7  # head, spouse, children and one or both of the head's parents


@dataclass(frozen=True)
class Profile:
    """Chances for one standing; those marked *risk* are multiplied by the commune's risk."""

    kinds: tuple[float, ...]  # weight of each `Kind`, in its order
    children: tuple[float, ...]  # weights of having 1, 2, 3 or 4 children
    wage_share: float  # of working members, working for wages (urban: + Calibration.urban_wage)
    no_contract: float  # risk: a wage worker has no labour contract
    unemployed: float  # risk: a working-age member is unemployed
    pension: float  # an elderly member has a pension or a monthly allowance (80+ always)
    disability: float  # multiplier of the age-specific disability rates
    uninsured: float  # risk: some members aged 6+ lack health insurance
    malnourished: float  # risk: a child under 16 is stunted or underweight
    undereducated: float  # risk: a member aged 16-30 out of training lacks the expected level
    dropout: float  # risk: a child aged 3-15 does not attend school
    upper_secondary: float  # a 15-17 year-old (cohort) attends upper secondary or vocational
    tertiary: float  # an 18-22 year-old (cohort) attends college, university or vocational
    lower_education: float  # an adult's qualification is drawn one step lower
    non_durable: float  # risk: two or three of walls, columns, roof are non-durable
    no_dwelling: float  # risk: the household has no dwelling at all
    cramped: float  # risk: under 8 m² per member
    unsafe_water: float  # risk
    unhygienic_latrine: float  # risk
    offline_elderly: float  # risk: no member uses internet, when every member is 60+
    offline: float  # risk: no member uses internet, otherwise
    no_device_offline: float  # risk: no information device, when offline
    no_device_online: float  # risk: no information device, when someone uses internet


COMFORTABLE = Profile(
    kinds=(0.045, 0.06, 0.04, 0.07, 0.44, 0.045, 0.19, 0.11),
    children=(0.30, 0.52, 0.15, 0.03),
    wage_share=0.48,
    no_contract=0.07,
    unemployed=0.008,
    pension=0.50,
    disability=1.0,
    uninsured=0.045,
    malnourished=0.025,
    undereducated=0.045,
    dropout=0.012,
    upper_secondary=0.92,
    tertiary=0.40,
    lower_education=0.0,
    non_durable=0.008,
    no_dwelling=0.0,
    cramped=0.008,
    unsafe_water=0.012,
    unhygienic_latrine=0.025,
    offline_elderly=0.10,
    offline=0.0035,
    no_device_offline=0.45,
    no_device_online=0.022,
)

MODEST = Profile(
    kinds=(0.09, 0.10, 0.06, 0.08, 0.38, 0.07, 0.14, 0.08),
    children=(0.25, 0.50, 0.20, 0.05),
    wage_share=0.42,
    no_contract=0.14,
    unemployed=0.02,
    pension=0.22,
    disability=1.5,
    uninsured=0.08,
    malnourished=0.05,
    undereducated=0.10,
    dropout=0.03,
    upper_secondary=0.85,
    tertiary=0.22,
    lower_education=0.25,
    non_durable=0.025,
    no_dwelling=0.0,
    cramped=0.025,
    unsafe_water=0.025,
    unhygienic_latrine=0.06,
    offline_elderly=0.2,
    offline=0.01,
    no_device_offline=0.5,
    no_device_online=0.03,
)

LOW = Profile(
    kinds=(0.17, 0.14, 0.07, 0.05, 0.28, 0.12, 0.11, 0.06),
    children=(0.25, 0.45, 0.22, 0.08),
    wage_share=0.35,
    no_contract=0.20,
    unemployed=0.04,
    pension=0.12,
    disability=2.5,
    uninsured=0.08,
    malnourished=0.10,
    undereducated=0.12,
    dropout=0.05,
    upper_secondary=0.75,
    tertiary=0.10,
    lower_education=0.45,
    non_durable=0.06,
    no_dwelling=0.0,
    cramped=0.06,
    unsafe_water=0.05,
    unhygienic_latrine=0.10,
    offline_elderly=0.45,
    offline=0.05,
    no_device_offline=0.55,
    no_device_online=0.05,
)

LOW_DEPRIVED = Profile(
    kinds=(0.20, 0.12, 0.08, 0.04, 0.26, 0.14, 0.10, 0.06),
    children=(0.20, 0.40, 0.28, 0.12),
    wage_share=0.30,
    no_contract=0.50,
    unemployed=0.10,
    pension=0.08,
    disability=4.0,
    uninsured=0.30,
    malnourished=0.30,
    undereducated=0.40,
    dropout=0.20,
    upper_secondary=0.55,
    tertiary=0.05,
    lower_education=0.65,
    non_durable=0.35,
    no_dwelling=0.01,
    cramped=0.30,
    unsafe_water=0.22,
    unhygienic_latrine=0.38,
    offline_elderly=0.75,
    offline=0.22,
    no_device_offline=0.70,
    no_device_online=0.15,
)


@dataclass(frozen=True)
class ByArea:
    rural: int
    urban: int

    def of(self, urban: bool) -> int:
        return self.urban if urban else self.rural


@dataclass(frozen=True)
class Calibration:
    """Everything the generator draws from; `CALIBRATION` is the default."""

    low_share: float = 0.027  # passes the income test (poor + near-poor), before commune risk
    low_deprived_share: float = 0.40  # of those, the share drawn with many drivers
    modest_share: float = 0.06  # measured income in the average band
    urban_risk: float = 0.5  # relative risk of an urban commune, before normalisation
    rural_risk: float = 1.2
    commune_spread: float = 0.35  # sigma of the log-normal commune effect
    urban_wage: float = 0.15  # added to the wage share in urban communes
    # VN-2022-2025 (Decree 07/2021, Circular 07/2021), the standard the defaults are tuned for.
    score_cutoff: ByArea = ByArea(rural=140, urban=175)
    income_line: ByArea = ByArea(rural=1_500_000, urban=2_000_000)
    band_upper: ByArea = ByArea(rural=2_250_000, urban=3_000_000)
    income_median: ByArea = ByArea(rural=4_300_000, urban=6_200_000)  # above the band
    score_recorded: float = 0.9  # comfortable households with a score A (else income only)
    income_recorded: float = 0.3  # households with a score that also have a measured income
    profiles: dict[Standing, Profile] = field(
        default_factory=lambda: {
            Standing.low_deprived: LOW_DEPRIVED,
            Standing.low: LOW,
            Standing.modest: MODEST,
            Standing.comfortable: COMFORTABLE,
        }
    )


CALIBRATION = Calibration()
