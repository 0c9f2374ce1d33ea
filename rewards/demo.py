"""Demo catalogue of green rights and the default points rules of every line."""

from __future__ import annotations

from datetime import date
from typing import Any

from carbon_accounts.models import BusinessLine
from rewards import services
from rewards.models import GreenRight, GreenRightKind

DEMO_TERMS = {
    "tree-saxaul": (
        "Planted in the next planting season; the foundation's certificate is sent within 90 days. Not refundable once planted.",
        "在下一个种植季种下；基金会证书在 90 天内发出。种植后不可退回。",
    ),
    "mangrove-1m2": (
        "Protection runs for 12 months from the redemption date. Not refundable.",
        "自兑换之日起守护 12 个月。不可退回。",
    ),
    "coffee-coupon": (
        "One coffee per code, in your own reusable cup, at partner cafés. Cannot be exchanged for cash.",
        "每个兑换码限一杯，需自带可重复使用的杯子，限合作咖啡店使用。不可兑换现金。",
    ),
    "donation-school": (
        "Donated through the partner charity; not refundable once donated.",
        "通过合作公益机构捐赠；捐赠后不可退回。",
    ),
}

DEMO_RIGHTS = (
    (
        "tree-saxaul",
        GreenRightKind.TREE_PLANTING,
        "Plant a saxaul tree in Inner Mongolia",
        "在内蒙古种下一棵梭梭树",
        "A desert-fixing shrub planted and looked after for three years by a partner foundation.",
        "由合作基金会种植并养护三年的防沙灌木。",
        180,
        None,
        1,
    ),
    (
        "mangrove-1m2",
        GreenRightKind.MANGROVE_PROTECTION,
        "Protect 1 m² of mangrove in Shenzhen Bay",
        "守护深圳湾 1 平方米红树林",
        "One square metre of mangrove wetland protected for a year.",
        "守护一平方米红树林湿地一年。",
        60,
        None,
        None,
    ),
    (
        "coffee-coupon",
        GreenRightKind.COUPON,
        "Bring-your-own-cup coffee coupon",
        "自带杯咖啡优惠券",
        "5 yuan off a coffee in a reusable cup at partner cafés.",
        "在合作咖啡店使用自带杯立减 5 元。",
        30,
        500,
        2,
    ),
    (
        "donation-school",
        GreenRightKind.DONATION,
        "Solar lamps for a rural school",
        "为乡村学校捐赠太阳能灯",
        "Your points become a donation of solar reading lamps.",
        "您的积分将捐赠为太阳能阅读灯。",
        100,
        None,
        None,
    ),
)


def set_up_demo_rewards(stdout: Any = None) -> None:
    for line in BusinessLine.objects.all():
        services.set_up_default_rules(line=line)
        for code, kind, name_en, name_zh, text_en, text_zh, cost, stock, limit in DEMO_RIGHTS:
            GreenRight.objects.get_or_create(
                line=line,
                code=code,
                defaults={
                    "kind": kind,
                    "name_en": name_en,
                    "name_zh": name_zh,
                    "description_en": text_en,
                    "description_zh": text_zh,
                    "terms_en": DEMO_TERMS[code][0],
                    "terms_zh": DEMO_TERMS[code][1],
                    "cost_points": cost,
                    "stock": stock,
                    "limit_per_person": limit,
                    "valid_from": date(2025, 1, 1),
                },
            )
