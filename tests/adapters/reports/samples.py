"""Hand-built report values for rendering tests: two blueprints, three cohort months, a portfolio with slip."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from onboarding.core.portfolio import (
    Bottleneck,
    OnTimeLaunches,
    PortfolioReport,
    ProjectAtRisk,
    RiskReason,
    SlipBySide,
    WaitBeforeStart,
)
from onboarding.core.ttfv import Dimension, KaplanMeierPoint, Quantiles, ShareWithin, TtfvGroup, TtfvReport

AS_OF = date(2027, 2, 26)


def group(key: tuple[str, ...], days: tuple[int, ...], *, in_flight: int = 0, stopped: int = 0) -> TtfvGroup:
    ordered = tuple(sorted(days))
    projects = len(days) + in_flight + stopped
    quantiles = (
        Quantiles(float(ordered[len(ordered) // 2]), float(ordered[(3 * len(ordered)) // 4]), float(ordered[-1]))
        if ordered
        else Quantiles()
    )
    curve = [KaplanMeierPoint(0, 0.0, projects)]
    at_risk = projects
    share = 0.0
    for d in sorted(set(ordered)):
        reached = ordered.count(d)
        share = 1 - (1 - share) * (1 - reached / at_risk)
        curve.append(KaplanMeierPoint(d, share, at_risk, reached))
        at_risk -= reached
    within = tuple(
        ShareWithin(h, max((p.share_reached for p in curve if p.day <= h), default=0.0)) for h in (30, 60, 90)
    )
    return TtfvGroup(
        key=key,
        projects=projects,
        reached=len(days),
        in_flight=in_flight,
        stopped=stopped,
        calendar_days=quantiles,
        business_days=Quantiles(
            *(None if v is None else round(v * 5 / 7, 1) for v in (quantiles.median, quantiles.p75, quantiles.p90))
        ),
        net_days=quantiles,
        reached_calendar_days=ordered,
        within=within,
        km_curve=tuple(curve),
        km_median_calendar_days=next((p.day for p in curve if p.share_reached >= 0.5), None),
    )


PAYROLL = group(("payroll-implementation",), (41, 45, 52, 60, 63, 75), in_flight=2, stopped=1)
HR = replace(
    group(("hr-platform-beside-payroll",), (28, 30, 33, 47), in_flight=3), target_calendar_days=30, reached_on_target=3
)
SAAS = group(("saas-onboarding <b>&",), (), in_flight=2)
TOTAL = group((), (28, 30, 33, 41, 45, 47, 52, 60, 63, 75), in_flight=7, stopped=1)

BY_BLUEPRINT = TtfvReport(
    as_of=AS_OF, dimensions=(Dimension.blueprint,), since=None, until=None, groups=(HR, PAYROLL, SAAS), total=TOTAL
)
BY_MONTH = TtfvReport(
    as_of=AS_OF,
    dimensions=(Dimension.cohort_month,),
    since=None,
    until=None,
    groups=(
        group(("2026-11",), (28, 41, 45, 60, 75), in_flight=1),
        group(("2026-12",), (30, 33, 52, 63), in_flight=2, stopped=1),
        group(("2027-01",), (47,), in_flight=4),
    ),
    total=TOTAL,
)

PORTFOLIO = PortfolioReport(
    as_of=AS_OF,
    projects=18,
    active=8,
    on_time=OnTimeLaunches(went_live=9, on_time=7, late=2, rate=7 / 9, without_window=1),
    at_risk=(
        ProjectAtRisk(
            project_id="acme-manufacturing-a1b2c3",
            external_id="CRM-1000",
            customer="Acme <Manufacturing>",
            blueprint_key="payroll-implementation",
            owner="Dana Ruiz",
            committed_go_live_on=date(2027, 1, 15),
            projected_go_live_on=date(2027, 4, 2),
            days_past_window=77,
            overdue_customer_tasks=3,
            days_blocked=0,
            reasons=(RiskReason.window, RiskReason.overdue_customer),
        ),
        ProjectAtRisk(
            project_id="globex-logistics-d4e5f6",
            external_id=None,
            customer="Globex Logistics",
            blueprint_key="hr-platform-beside-payroll",
            owner="Omar Haddad",
            committed_go_live_on=date(2027, 3, 3),
            projected_go_live_on=date(2027, 3, 3),
            days_past_window=0,
            overdue_customer_tasks=0,
            days_blocked=12,
            reasons=(RiskReason.blocked,),
        ),
    ),
    at_risk_total=2,
    bottleneck_tasks=(
        Bottleneck("payroll-implementation", "task", "census", "Send the employee census", 5, 38, 7.0, 15),
        Bottleneck("payroll-implementation", "task", "bank", "Confirm bank details", 4, 21, 5.5, 9),
        Bottleneck("hr-platform-beside-payroll", "task", "sso", "Configure single sign-on", 2, 6, 3.0, 4),
    ),
    bottleneck_milestones=(
        Bottleneck("payroll-implementation", "milestone", "migration", "Data migration", 5, 44, 8.0, 17),
    ),
    slip_by_side=(SlipBySide("customer", 11, 59, 59 / 65), SlipBySide("vendor", 3, 6, 6 / 65)),
    wait_before_start=(
        WaitBeforeStart("customer", 40, Quantiles(1.0, 3.0, 6.5), 2.1),
        WaitBeforeStart("vendor", 52, Quantiles(0.0, 1.0, 2.0), 0.7),
        WaitBeforeStart("all", 92, Quantiles(0.0, 2.0, 4.0), 1.3),
    ),
)
