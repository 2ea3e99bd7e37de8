import io

import pytest
from django.core.management import CommandError, call_command

from relief.households.models import Household
from tests.households.builders import KoboHousehold, head, kobo_xlsx


def test_import_households_command_dry_run_then_import(camps, tmp_path):
    path = kobo_xlsx(tmp_path / "export.xlsx", [KoboHousehold(head=head()), KoboHousehold(head=head("Eric"))])
    out = io.StringIO()
    call_command("import_households", str(path), "--dry-run", stdout=out)
    assert "would create 2 households" in out.getvalue() and Household.objects.count() == 0
    out = io.StringIO()
    call_command("import_households", str(path), "--mapping", "kobo_example", stdout=out)
    assert "created 2 households" in out.getvalue() and Household.objects.count() == 2


def test_import_households_command_reports_problems_and_fails(camps, tmp_path):
    path = kobo_xlsx(tmp_path / "export.xlsx", [KoboHousehold(head=head(sex="x"))])
    out = io.StringIO()
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_households", str(path), stdout=out)
    assert "kobo_registration row 2 [household/head_sex]" in out.getvalue()
    with pytest.raises(CommandError, match="does not exist"):
        call_command("import_households", str(tmp_path / "missing.xlsx"))
    with pytest.raises(CommandError, match="mapping file not found"):
        call_command("import_households", str(path), "--mapping", str(tmp_path / "nope.json"))
