"""The FX table is plugged into the deal reads when the apps load (``FinanceConfig.ready``), not when
some module happens to be imported: a CLI command, a job or an export converts deal figures in other
currencies like a page does."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

CHECK = textwrap.dedent(
    """
    import sys
    import django
    django.setup()
    from openprm.deals.rollups.conversion import converter_for
    assert "openprm.metrics.figures" not in sys.modules, "the check needs a process without the figures"
    print("plugged" if converter_for(1, "EUR") is not None else "not plugged")
    """
)


def test_the_rate_table_is_plugged_in_once_django_is_set_up() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "plugged"
