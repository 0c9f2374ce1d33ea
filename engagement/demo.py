"""Demo: the group's low-carbon cycling day with two teams, and a mangrove project per line."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from behaviours.models import Behaviour
from carbon_accounts.demo import TEAMS
from carbon_accounts.models import Account, AccountKind, BusinessLine
from carbon_accounts.services import LedgerError
from engagement import services
from engagement.models import Campaign, GoalKind, WelfareProject

CYCLING = ("commute_cycle", "commute_ebike", "commute_walk")
CYCLING_TEAMS = TEAMS[:2]


def set_up_demo_engagement(stdout: Any = None) -> None:
    today = timezone.localdate()
    employees = BusinessLine.objects.filter(code="employees").first()
    if employees is not None and Behaviour.objects.filter(code__in=CYCLING).exists():
        campaign, created = Campaign.objects.get_or_create(
            name_en="Low-carbon cycling day",
            defaults={
                "name_zh": "低碳骑行日",
                "description_en": "Cycle, ride an e-bike or walk to work this week. Which team gets further?",
                "description_zh": "本周骑车、骑电动自行车或步行上班，看看哪个团队走得更远！",
                "line": employees,
                "starts_on": today - timedelta(days=2),
                "ends_on": today + timedelta(days=5),
                "goal_kind": GoalKind.ACTIONS,
                "goal": 40,
                "teams": list(CYCLING_TEAMS),
            },
        )
        if created:
            campaign.behaviours.set(Behaviour.objects.filter(code__in=CYCLING))
            # Some demo colleagues of both teams have joined; the demo employee has not, to try it.
            joiners = (
                Account.objects.filter(kind=AccountKind.PERSONAL, line=employees, team__in=CYCLING_TEAMS)
                .exclude(external_ref="E000001")
                .select_related("holder")
                .order_by("id")[:24]
            )
            for account in joiners:
                if account.holder is None:
                    continue
                services.join_campaign(campaign=campaign, user=account.holder, today=today)
    for line in BusinessLine.objects.all():
        project, created = WelfareProject.objects.get_or_create(
            line=line,
            name_en="Mangroves of Shenzhen Bay",
            defaults={
                "name_zh": "守护深圳湾红树林",
                "description_en": "Points given here fund the planting and care of mangrove seedlings "
                "with a partner foundation: every 100 points plant one seedling.",
                "description_zh": "在这里捐出的积分将与合作基金会一起种植并养护红树林幼苗：每 100 积分种下一株。",
                "goal_points": 20000,
            },
        )
        if created:
            donors = Account.objects.filter(
                kind=AccountKind.PERSONAL, line=line, balance_points__gte=20
            ).order_by("id")[:5]
            for account in donors:
                try:
                    services.donate(
                        account=account,
                        project_id=project.pk,
                        points=20,
                        idempotency_key="demo-donation",
                        today=today,
                    )
                except LedgerError:
                    continue
    if stdout is not None:
        stdout.write("demo engagement: cycling day campaign and mangrove projects ready")
