"""The demo shows the cycling day campaign with two teams and a mangrove project."""

from __future__ import annotations

import pytest

from carbon_accounts import demo as ledger_demo
from carbon_accounts.integrity import check_ledger
from engagement import selectors
from engagement.demo import set_up_demo_engagement
from engagement.models import Campaign, WelfareProject

pytestmark = pytest.mark.django_db


def test_the_demo_has_the_cycling_day_and_the_mangroves(reference) -> None:  # type: ignore[no-untyped-def]
    ledger_demo.seed_named_demo_people()
    ledger_demo.seed_generated_people(employees=30, customers=5)
    for hook in ledger_demo.HOOKS:
        if hook is not set_up_demo_engagement:
            hook()
    set_up_demo_engagement()
    set_up_demo_engagement()  # a second run adds nothing
    campaign = Campaign.objects.get(name_zh="低碳骑行日")
    progress = selectors.progress(campaign=campaign)
    assert [standing.team for standing in sorted(progress.teams, key=lambda s: s.team)] == [
        "Retail credit",
        "Treasury",
    ]
    assert progress.participants > 0
    assert WelfareProject.objects.filter(name_zh="守护深圳湾红树林").count() == 4
    assert check_ledger() == []
