"""`yuqing audit verify`: exit 0 when the audit chain holds, 1 with the first broken row named, on every
reachable engine (issue 15, probe 7)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from playbooks import users
from store.records import Records
from yuqing.cli import main
from yuqing.config import load_settings


def _records(config: Path) -> Records:
    return Records(load_settings(config).store.resolved_records_url())


def test_verify_says_intact_then_names_the_changed_row(config_file: Path, records_url: str, capsys):
    rec = _records(config_file)
    with rec.session() as s:  # a few real changes, each audited
        users.create_user(s, username="zhao", role="manager", password="audit-cli-pass-42", by="admin")
        users.update_user(s, "zhao", by="admin", display_name="赵经理")
        users.set_active(s, "zhao", False, by="admin")
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "审计链完整：3 行逐行核对无误" in out and "链尾 3:" in out
    anchor = out.split("链尾 ")[1].split()[0]

    assert main(["audit", "verify", "--json", "--anchor", anchor]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True

    pg = rec.engine.dialect.name == "postgresql"
    with rec.engine.begin() as conn:  # the database owner edits a row past the guards
        conn.execute(
            text("ALTER TABLE audit_log DISABLE TRIGGER USER" if pg else "DROP TRIGGER audit_log_no_update")
        )
        conn.execute(text("UPDATE audit_log SET actor = 'someone' WHERE id = 2"))
    rec.dispose()
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "审计链断裂" in err and "审计 #2（第 2 行）的内容与其链值不符" in err and "此前 1 行完好" in err
    assert main(["audit", "verify", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["first_break"]["row_id"] == 2 and result["first_break"]["kind"] == "changed"
    assert main(["audit", "verify", "--anchor", "nonsense"]) == 2
