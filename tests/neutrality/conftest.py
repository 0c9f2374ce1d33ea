from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from carbon_accounts import credentials
from carbon_accounts.models import BusinessLine
from neutrality import services
from neutrality.models import ActivityImport, Site
from tests.api.conftest import ApiClient


@pytest.fixture
def sites(reference: dict[str, BusinessLine]) -> dict[str, Site]:
    """Reference data loaded and a site per grid region used by the worked example."""
    return {
        site.code: site
        for site in (
            services.add_site(
                line_id=reference["bank"].pk,
                code="sh-branches",
                name_en="Shanghai",
                name_zh="上海",
                region="CN-SH",
            ),
            services.add_site(
                line_id=reference["bank"].pk,
                code="bj-branches",
                name_en="Beijing",
                name_zh="北京",
                region="CN-BJ",
            ),
            services.add_site(
                line_id=reference["employees"].pk,
                code="hq",
                name_en="Shenzhen HQ",
                name_zh="深圳总部",
                region="CN-SZ",
            ),
            services.add_site(
                line_id=reference["life"].pk, code="london", name_en="London", name_zh="伦敦", region="GB"
            ),
        )
    }


@pytest.fixture
def system_key(reference: dict[str, BusinessLine]) -> Callable[[str], ApiClient]:
    """system_key(line): an API client with that business line's system key."""

    def make(line: str) -> ApiClient:
        return ApiClient(credentials.issue(name=f"{line} facility system", line=reference[line])[1])

    return make


@pytest.fixture
def load(sites: dict[str, Site], reference: dict[str, BusinessLine]) -> Callable[..., ActivityImport]:
    """load(line, rows): the rows through the import service, as a file or the API sends them."""

    def run(line: str, rows: list[dict[str, Any]], source: str = "tests") -> ActivityImport:
        return services.import_activity(line_id=reference[line].pk, rows=rows, source=source)

    return run


def row(
    ref: str, site: str, activity: str, quantity: str, unit: str, period: str = "2023", **extra: str
) -> dict[str, str]:
    return {
        "row_ref": ref,
        "site": site,
        "activity": activity,
        "period": period,
        "quantity": quantity,
        "unit": unit,
        **extra,
    }
