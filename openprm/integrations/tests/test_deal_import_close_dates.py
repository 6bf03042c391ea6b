"""A re-import that moves a deal to a closing stage without a close date closes it as the stage move does:
from an open stage or from the other outcome (lost → won) it closes at import time; between stages of the
same outcome (won → won, lost → lost) it keeps its close; an open stage clears it."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from openprm.integrations.tests.helpers import run
from openprm.integrations.tests.test_deal_import import CANONICAL, canonical, deals
from openprm.integrations.tests.test_deal_import import catalog as catalog  # the products fixture

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
FEB_1 = datetime.datetime(2026, 2, 1, tzinfo=UTC)  # D-3's lost date
FEB_20 = datetime.datetime(2026, 2, 20, tzinfo=UTC)  # D-2's won date


@pytest.mark.usefixtures("catalog")
def test_a_reimport_without_close_date_closes_as_the_stage_move_does(world, tmp_path):
    run("import", "deals", str(canonical(tmp_path, *CANONICAL)))
    assert deals()["D-3"].closed_at == FEB_1 and deals()["D-2"].closed_at == FEB_20
    moved = [
        CANONICAL[0],  # registered: stays open
        CANONICAL[1].replace(",2026-02-20,", ",,"),  # won → won, no date in the file
        CANONICAL[2].replace(",closed_lost,", ",closed_won,").replace(",2/1/2026,", ",,"),  # lost → won
        CANONICAL[3].replace(",negotiating,", ",closed_lost,"),  # open → lost
    ]
    before = timezone.now()
    out, _ = run("import", "deals", str(canonical(tmp_path, *moved, name="moved.csv")))
    after = timezone.now()
    assert out.strip() == "created 0, updated 2, unchanged 2, rejected 0"  # D-2 keeps its close
    found = deals()
    assert found["D-1"].closed_at is None
    assert found["D-2"].stage.key == "closed_won" and found["D-2"].closed_at == FEB_20
    lost_to_won = found["D-3"]
    assert lost_to_won.stage.key == "closed_won"
    assert lost_to_won.closed_at is not None and before <= lost_to_won.closed_at <= after  # was Feb 1
    open_to_lost = found["D-4"]
    assert open_to_lost.stage.key == "closed_lost"
    assert open_to_lost.closed_at is not None and before <= open_to_lost.closed_at <= after
    # the same file again: won → won and lost → lost keep the close just made
    out, _ = run("import", "deals", str(canonical(tmp_path, *moved, name="moved.csv")))
    assert out.strip() == "created 0, updated 0, unchanged 4, rejected 0"
    assert deals()["D-3"].closed_at == lost_to_won.closed_at
    # won → lost without a date closes now too
    relost = [*moved[:2], moved[2].replace(",closed_won,", ",closed_lost,"), moved[3]]
    before = timezone.now()
    run("import", "deals", str(canonical(tmp_path, *relost, name="relost.csv")))
    won_to_lost = deals()["D-3"]
    assert won_to_lost.stage.key == "closed_lost"
    assert won_to_lost.closed_at is not None and won_to_lost.closed_at >= before
