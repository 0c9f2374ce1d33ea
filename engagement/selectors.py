"""Reads of campaigns and projects: who may join, live progress, totals given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from behaviours import selectors as behaviour_selectors
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.models import Account
from engagement.models import Campaign, Donation, GoalKind, Participant, WelfareProject


def current_campaigns(
    *, user: AbstractBaseUser | AnonymousUser, today: date | None = None
) -> QuerySet[Campaign]:
    """Campaigns running today that the person may join: their lines' and the whole group's."""
    today = today or timezone.localdate()
    line_ids = [account.line_id for account in ledger_selectors.personal_accounts_of(user)]
    if not line_ids:
        return Campaign.objects.none()
    return (
        Campaign.objects.filter(starts_on__lte=today, ends_on__gte=today)
        .filter(Q(line__isnull=True) | Q(line_id__in=line_ids))
        .select_related("line")
        .order_by("ends_on", "id")
    )


def joining_account(*, campaign: Campaign, user: AbstractBaseUser | AnonymousUser) -> Account | None:
    """The account a person joins with: the campaign's line, or for the whole group the first
    account that names a team (an employee's), else their first."""
    accounts = list(ledger_selectors.personal_accounts_of(user))
    if campaign.line_id is not None:
        return next((a for a in accounts if a.line_id == campaign.line_id), None)
    return next((a for a in accounts if a.team), accounts[0] if accounts else None)


def joined_campaign_ids(*, user: AbstractBaseUser | AnonymousUser) -> set[int]:
    if not user.is_authenticated:
        return set()
    return set(Participant.objects.filter(person_id=user.pk).values_list("campaign_id", flat=True))


@dataclass(frozen=True)
class TeamStanding:
    rank: int
    team: str
    amount: float  # in the campaign's goal unit
    people: int


@dataclass(frozen=True)
class CampaignProgress:
    total: float  # in the goal's unit: kg, or actions
    goal: int
    percent: int
    participants: int
    mine: float | None  # None: the person has not joined
    teams: list[TeamStanding]


def _amount(kind: str, records: int, grams: int) -> float:
    return round(grams / 1000, 1) if kind == GoalKind.KILOGRAMS else float(records)


def progress(*, campaign: Campaign, user: AbstractBaseUser | AnonymousUser | None = None) -> CampaignProgress:
    """Live progress from the participants' accepted records of the listed behaviours in the window."""
    participants = list(Participant.objects.filter(campaign=campaign).select_related("account"))
    # Every account of each participant in the campaign's line(s) counts, not only the one they joined with.
    people = {p.person_id: p for p in participants}
    accounts = Account.objects.filter(holder_id__in=list(people), kind="personal")
    if campaign.line_id is not None:
        accounts = accounts.filter(line_id=campaign.line_id)
    holder_of = dict(accounts.values_list("id", "holder_id"))
    rows = behaviour_selectors.contributions(
        account_ids=list(holder_of),
        behaviour_codes=list(campaign.behaviours.values_list("code", flat=True)),
        first_day=campaign.starts_on,
        last_day=campaign.ends_on,
    )
    per_person: dict[int, tuple[int, int]] = {}
    for row in rows:
        records, grams = per_person.get(holder_of[row.account_id], (0, 0))
        per_person[holder_of[row.account_id]] = (records + row.records, grams + row.grams)
    kind = campaign.goal_kind
    total_records = sum(r for r, _g in per_person.values())
    total_grams = sum(g for _r, g in per_person.values())
    total = _amount(kind, total_records, total_grams)
    mine = None
    if user is not None and user.is_authenticated and user.pk in people:
        mine = _amount(kind, *per_person.get(user.pk, (0, 0)))
    teams: list[TeamStanding] = []
    if campaign.teams:
        sums: dict[str, list[int]] = {team: [0, 0, 0] for team in campaign.teams}
        for person_id, participant in people.items():
            team = participant.account.team
            if team in sums:
                records, grams = per_person.get(person_id, (0, 0))
                sums[team][0] += records
                sums[team][1] += grams
                sums[team][2] += 1
        ordered = sorted(sums.items(), key=lambda item: (-_amount(kind, item[1][0], item[1][1]), item[0]))
        teams = [
            TeamStanding(rank, team, _amount(kind, records, grams), count)
            for rank, (team, (records, grams, count)) in enumerate(ordered, start=1)
        ]
    percent = min(100, int(total * 100 // campaign.goal))
    return CampaignProgress(total, campaign.goal, percent, len(participants), mine, teams)


@dataclass(frozen=True)
class ProjectProgress:
    points: int
    donors: int
    percent: int


def project_progress(*, project: WelfareProject) -> ProjectProgress:
    sums = Donation.objects.filter(project=project).aggregate(
        points=Sum("points"), donors=Count("account", distinct=True)
    )
    points = int(sums["points"] or 0)
    return ProjectProgress(points, int(sums["donors"] or 0), min(100, points * 100 // project.goal_points))


def open_projects(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[WelfareProject]:
    line_ids = [account.line_id for account in ledger_selectors.personal_accounts_of(user)]
    return WelfareProject.objects.filter(active=True, line_id__in=line_ids).select_related("line")


def donations_of(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Donation]:
    accounts = ledger_selectors.personal_accounts_of(user)
    return Donation.objects.filter(account__in=accounts).select_related("project").order_by("-created_at")
