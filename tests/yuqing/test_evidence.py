"""固定证据: the desk keeps a flagged post as it received it, at the moment it flagged it (text, address,
times, the analysis), with its SHA-256; officers attach files to a record; the regulator report and the
record's bundle list them, and a changed copy is caught."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select, update

from playbooks import evidence
from playbooks.authz import Actor
from playbooks.escalation import open_escalation
from playbooks.reports import regulator_report
from store.models import Alert, Evidence, utcnow
from tests.yuqing.test_ingest_announce import OUTAGE
from yuqing.cli import main
from yuqing.config import load_settings
from yuqing.context import build_context

OFFICER = Actor("wang", "officer", "王晓明")
MANAGER = Actor("zhao", "manager", "赵经理")


@pytest.fixture
def flagged(config_file: Path, tmp_path: Path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(OUTAGE, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["ingest", "--input", str(src)]) == 0
    ctx = build_context(load_settings(config_file))
    yield ctx
    ctx.close()


def test_the_post_is_kept_as_flagged_with_its_sha256(flagged):
    with flagged.records.session() as s:
        alert = s.scalar(select(Alert))
        (snap,) = s.scalars(select(Evidence).where(Evidence.alert_id == alert.id)).all()
        assert snap.kind == "snapshot" and snap.captured_by == "system"
        assert hashlib.sha256(snap.content).hexdigest() == snap.sha256
        doc = json.loads(snap.content)
        assert doc["post"]["text"] == OUTAGE["text"] and doc["post"]["url"] == OUTAGE["url"]
        assert doc["post"]["level"] == alert.level and doc["post"]["reasons"]  # what flagged it
        assert abs((snap.captured_at - alert.created_at).total_seconds()) < 5  # at the moment of flagging


def test_an_attachment_is_kept_listed_in_the_regulator_report_and_the_bundle(flagged):
    shot = b"\x89PNG\r\n\x1a\n" + b"screenshot" * 100
    with flagged.records.session() as s:
        alert = s.scalar(select(Alert))
        esc, _ = open_escalation(s, alert_id=alert.id, actor=OFFICER)
        from playbooks import users

        for a in (OFFICER, MANAGER):
            users.create_user(s, username=a.username, role=a.role, password="evidence-pass-42", by="test",
                              display_name=a.display_name)  # fmt: skip
        kept = evidence.attach(
            s, OFFICER, escalation_id=esc.id, name="原帖截图.png", data=shot, mime="image/png"
        )
        assert kept.sha256 == hashlib.sha256(shot).hexdigest()
        markdown, _ = regulator_report(
            s, esc.id, playbooks=flagged.playbooks, firm=flagged.settings.firm, actor=MANAGER, now=utcnow()
        )
        esc_id = esc.id
    assert "我公司已固定以下证据" in markdown
    assert "原帖截图" in markdown and kept.sha256 in markdown
    assert "帖子快照（发现时）" in markdown and "王晓明（wang）" in markdown
    with flagged.records.session() as s:
        data = evidence.bundle(s, esc_id, OFFICER)
    z = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(z.read("清单.json"))
    assert [m["kind"] for m in manifest] == ["snapshot", "attachment"]
    for m in manifest:
        assert hashlib.sha256(z.read(m["file"])).hexdigest() == m["sha256"]


def test_an_empty_or_oversized_file_is_refused_and_a_changed_copy_is_caught(flagged):
    with flagged.records.session() as s:
        alert = s.scalar(select(Alert))
        esc, _ = open_escalation(s, alert_id=alert.id, actor=OFFICER)
        with pytest.raises(evidence.EvidenceError, match="空"):
            evidence.attach(s, OFFICER, escalation_id=esc.id, name="a.png", data=b"")
        with pytest.raises(evidence.EvidenceError, match="10 MB"):
            evidence.attach(
                s, OFFICER, escalation_id=esc.id, name="a.bin", data=b"0" * (evidence.MAX_BYTES + 1)
            )
        snap = s.scalar(select(Evidence))
        s.execute(update(Evidence).where(Evidence.id == snap.id).values(content=snap.content + b" "))
        s.expire_all()
        with pytest.raises(evidence.EvidenceError, match="SHA-256 不符"):
            evidence.content(s, snap.id, OFFICER)
