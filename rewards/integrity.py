"""Invariant 3 (rewards' half): lots add up to balances; a green right is never oversold."""

from __future__ import annotations

from django.db import connection


def points_lots_match_balances() -> list[str]:
    """What is left in a person's lots is exactly their points balance."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT a.id, a.balance_points, coalesce(l.remaining, 0)
                 FROM carbon_accounts_account a
                 LEFT JOIN (SELECT account_id, sum(remaining) AS remaining FROM rewards_pointsaward
                             GROUP BY account_id) l ON l.account_id = a.id
                WHERE a.kind = 'personal' AND a.balance_points <> coalesce(l.remaining, 0)"""
        )
        return [
            f"invariant 3: account {account_id} holds {points} points but its lots hold {remaining}"
            for account_id, points, remaining in cursor.fetchall()
        ]


def rights_never_oversold() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, stock FROM rewards_greenright WHERE stock < 0")
        return [
            f"invariant 3: green right {right_id} has stock {stock}" for right_id, stock in cursor.fetchall()
        ]
