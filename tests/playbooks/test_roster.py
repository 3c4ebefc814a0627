"""The duty roster: changes (admin only, audited), CSV import, who is on duty, gaps, and the chain."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from playbooks import roster as R
from playbooks.alerting import chase_alerts
from playbooks.authz import Actor, PermissionDenied
from playbooks.chain import ChainError, check_clocks, validate_chain
from playbooks.escalation import open_escalation
from playbooks.holidays import find_holiday
from store.models import Notification, RosterEntry, User
from store.records import audit_trail
from tests.playbooks.escalation_support import LIBRARY, OFFICER, add_users, outage_alert
from tests.store import conftest as engines

db = engines.records

ADMIN = Actor("admin", "admin", "系统管理员")
CHAIN = ["owner", "role:manager", "role:admin"]
DESK = "https://desk.huading.example"
BJ = R.BEIJING
HEADER = "日期,开始,结束,岗位,用户名,电话,备注\n"


def _people(s):
    add_users(s)  # wang, zhao (officers), li, chen (managers), admin
    for u in s.scalars(select(User)):
        u.phone = "" if u.username == "zhao" else f"1380000{len(u.username):04d}"
    s.flush()


def _full_day(s, day: str, primary="wang", backup="zhao", manager="li", backup_phone="13900000002"):
    R.add_entry(s, ADMIN, day=day, duty="主班", username=primary)
    R.add_entry(s, ADMIN, day=day, duty="备班", username=backup, phone=backup_phone)
    R.add_entry(s, ADMIN, day=day, duty="带班负责人", username=manager)


def test_officer_and_manager_may_not_edit_the_roster(db):
    with db.session() as s:
        _people(s)
        for who in (OFFICER, Actor("li", "manager")):
            with pytest.raises(PermissionDenied, match="管理员"):
                R.add_entry(s, who, day="2026-10-01", duty="primary", username="wang")
            with pytest.raises(PermissionDenied):
                R.import_csv(s, who, HEADER + "2026-10-01,00:00,24:00,主班,wang,,\n")
        entry = R.add_entry(s, ADMIN, day="2026-10-01", duty="primary", username="wang")
        with pytest.raises(PermissionDenied):
            R.remove_entry(s, OFFICER, entry.id)
        assert s.scalars(select(RosterEntry)).all() == [entry]


def test_add_and_remove_are_audited_and_refuse_nonsense(db):
    with db.session() as s:
        _people(s)
        e = R.add_entry(s, ADMIN, day="2026-10-01", duty="带班负责人", username="li", shift_start="8:00")
        assert (e.day, e.shift_start, e.shift_end, e.duty, e.created_by) == (
            "2026-10-01",
            "08:00",
            "24:00",
            "manager",
            "admin",
        )
        with pytest.raises(R.RosterError, match="重叠"):
            R.add_entry(s, ADMIN, day="2026-10-01", duty="manager", username="li", shift_start="20:00")
        with pytest.raises(R.RosterError, match="不存在"):
            R.add_entry(s, ADMIN, day="2026-10-01", duty="primary", username="nobody")
        with pytest.raises(R.RosterError, match="岗位"):
            R.add_entry(s, ADMIN, day="2026-10-01", duty="保安", username="wang")
        with pytest.raises(R.RosterError, match="时间"):
            R.add_entry(s, ADMIN, day="2026-10-01", duty="primary", username="wang", shift_end="25:00")
        R.remove_entry(s, ADMIN, e.id)
        trail = [(a.actor, a.action, a.detail["username"]) for a in audit_trail(s, entity="roster")]
        assert trail == [("admin", "roster.add", "li"), ("admin", "roster.remove", "li")]


def test_csv_import_with_chinese_duties(db):
    text = HEADER + (
        "2026-10-01,00:00,12:00,主班,wang,,上午\n"
        "2026-10-01,12:00,24:00,主班值班员,zhao,13911112222,下午\n"
        "2026/10/01,,,备班,chen,,\n"
        "2026-10-01,00:00,24:00,带班负责人,li,,\n"
    )
    with db.session() as s:
        _people(s)
        entries = R.import_csv(s, ADMIN, text.encode("utf-8-sig"), source="roster.csv")
        assert [(e.duty, e.username, e.shift_start, e.shift_end) for e in entries] == [
            ("primary", "wang", "00:00", "12:00"),
            ("primary", "zhao", "12:00", "24:00"),
            ("backup", "chen", "00:00", "24:00"),
            ("manager", "li", "00:00", "24:00"),
        ]
        assert R.gaps(s, date(2026, 10, 1), date(2026, 10, 1)) == []
        actions = [a.action for a in audit_trail(s, entity="roster")]
        assert actions.count("roster.add") == 4 and actions[-1] == "roster.import"


def test_csv_with_a_bad_line_is_refused_with_its_number_and_nothing_imported(db):
    text = HEADER + (
        "2026-10-01,00:00,24:00,主班,wang,,\n"
        "2026-10-01,00:00,24:00,备班,zhao,13900000002,\n"
        "2026-10-02,08:00,26:00,主班,wang,,\n"  # line 4: no such time
        "2026-10-02,00:00,24:00,值日生,wang,,\n"  # line 5: no such duty
        "2026-10-0x,00:00,24:00,主班,wang,,\n"  # line 6: no such day
    )
    with db.session() as s:
        _people(s)
        with pytest.raises(R.RosterImportError) as err:
            R.import_csv(s, ADMIN, text)
        assert [n for n, _ in err.value.errors] == [4, 5, 6]
        assert "第 4 行" in str(err.value) and "26:00" in str(err.value)
    with db.session() as s:
        assert s.scalars(select(RosterEntry)).all() == []
        assert audit_trail(s, entity="roster") == []
    with db.session() as s, pytest.raises(R.RosterImportError, match="表头"):
        R.import_csv(s, ADMIN, "date,start\n2026-10-01,00:00\n")


def test_csv_lines_that_overlap_each_other_are_refused(db):
    text = HEADER + "2026-10-01,00:00,24:00,主班,wang,,\n2026-10-01,08:00,12:00,主班,wang,,\n"
    with db.session() as s:
        _people(s)
        with pytest.raises(R.RosterImportError) as err:
            R.import_csv(s, ADMIN, text)
        assert [n for n, _ in err.value.errors] == [3]


def test_on_duty_at_shift_edges_and_across_midnight(db):
    with db.session() as s:
        _people(s)
        R.add_entry(
            s,
            ADMIN,
            day="2026-10-01",
            duty="primary",
            username="wang",
            shift_start="08:00",
            shift_end="20:00",
        )
        R.add_entry(
            s,
            ADMIN,
            day="2026-10-01",
            duty="primary",
            username="zhao",
            shift_start="20:00",
            shift_end="08:00",
        )
        R.add_entry(
            s, ADMIN, day="2026-10-01", duty="manager", username="li", shift_start="00:00", shift_end="24:00"
        )

        def who(hh, mm=0, day=1):
            at = datetime(2026, 10, day, hh, mm, tzinfo=BJ)
            return [(e.duty, e.username) for e in R.on_duty(s, at)]

        assert who(7, 59) == [
            ("manager", "li")
        ]  # nobody's primary yet (the night before is not on the roster)
        assert who(8, 0) == [("primary", "wang"), ("manager", "li")]  # a shift starts on its start
        assert who(19, 59) == [("primary", "wang"), ("manager", "li")]
        assert who(20, 0) == [("primary", "zhao"), ("manager", "li")]  # ... and ends on its end
        assert who(23, 59) == [("primary", "zhao"), ("manager", "li")]
        assert who(2, 0, day=2) == [("primary", "zhao")]  # the night shift runs into the next day
        assert who(8, 0, day=2) == []
        # a UTC time is read in Beijing time: 2026-10-01 18:00 UTC is 02:00 on the 2nd in Beijing
        assert [e.username for e in R.on_duty(s, datetime(2026, 10, 1, 18, 0, tzinfo=UTC))] == ["zhao"]
        assert [e.username for e in R.on_duty(s, datetime(2026, 10, 1, 18, 0))] == ["zhao"]  # naive is UTC


def test_a_shift_may_end_at_24_00(db):
    with db.session() as s:
        _people(s)
        R.add_entry(
            s,
            ADMIN,
            day="2026-10-01",
            duty="primary",
            username="wang",
            shift_start="12:00",
            shift_end="24:00",
        )
        assert [e.username for e in R.on_duty(s, datetime(2026, 10, 1, 23, 59, 59, tzinfo=BJ))] == ["wang"]
        assert R.on_duty(s, datetime(2026, 10, 2, 0, 0, tzinfo=BJ)) == []


def test_gaps_are_found_and_named(db):
    with db.session() as s:
        _people(s)
        # Oct 1: complete; Oct 2: primary only until 18:00, no backup, manager; Oct 3: nothing
        _full_day(s, "2026-10-01")
        R.add_entry(s, ADMIN, day="2026-10-02", duty="primary", username="wang", shift_end="18:00")
        R.add_entry(s, ADMIN, day="2026-10-02", duty="manager", username="chen")
        R.add_entry(s, ADMIN, day="2026-10-02", duty="backup", username="zhao")  # zhao has no phone anywhere
        found = R.gaps(s, date(2026, 10, 1), date(2026, 10, 3))
        assert [g.message for g in found] == [
            "2026-10-02 联系电话缺失：备班 zhao",
            "2026-10-02 缺主班（18:00–24:00）",
            "2026-10-02 缺备班",
            "2026-10-03 缺主班（全天）",
            "2026-10-03 缺备班",
            "2026-10-03 缺带班负责人",
        ]
        assert [g.label for g in found][:2] == ["联系电话缺失", "缺主班"]


def test_a_person_disabled_since_is_a_gap(db):
    with db.session() as s:
        _people(s)
        _full_day(s, "2026-10-01")
        assert R.gaps(s, date(2026, 10, 1), date(2026, 10, 1)) == []
        s.scalar(select(User).where(User.username == "li")).active = False
        s.flush()
        assert [g.message for g in R.gaps(s, date(2026, 10, 1), date(2026, 10, 1))] == [
            "2026-10-01 账号已停用：带班负责人 li",
            "2026-10-01 缺带班负责人",
        ]


def test_roster_complete_for_a_holiday_covers_every_day_of_it(db):
    national = find_holiday("国庆", today=date(2026, 9, 1))  # 2026-10-01 … 10-07
    with db.session() as s:
        _people(s)
        for i in range(6):
            _full_day(s, (date(2026, 10, 1) + timedelta(days=i)).isoformat())
        done, found = R.roster_complete(s, national)
        assert not done
        assert [g.message for g in found] == [
            "2026-10-07 缺主班（全天）",
            "2026-10-07 缺备班",
            "2026-10-07 缺带班负责人",
        ]
        _full_day(s, "2026-10-07", manager="chen")
        assert R.roster_complete(s, national) == (True, [])


# --------------------------------------------------------------------------- the chain follows the roster

TWO_AM = datetime(2026, 10, 2, 2, 0, tzinfo=BJ).astimezone(UTC)  # 02:00 Beijing on 国庆 2026


def _night_record(s, *, level="I"):
    _people(s)
    alert = outage_alert(s, level=level, at=TWO_AM - timedelta(minutes=6))
    esc, _ = open_escalation(s, alert_id=alert.id, actor=OFFICER)
    R.add_entry(s, ADMIN, day="2026-10-02", duty="manager", username="chen")
    R.add_entry(s, ADMIN, day="2026-10-02", duty="primary", username="zhao", phone="13900000002")
    return esc


def test_at_2am_on_a_holiday_the_chain_tells_the_manager_on_duty_and_not_the_others(db):
    with db.session() as s:
        _night_record(s)
        events = check_clocks(
            s,
            playbooks=list(LIBRARY.values()),
            chain=CHAIN,
            now=TWO_AM,
            desk_base_url=DESK,
            resolve=R.roster_resolver(TWO_AM),
        )
        assert [(e.tier, e.entry, e.people) for e in events] == [(1, "role:manager", ["chen"])]
        assert "本次通知：陈刚" in events[0].body  # the message says who was told
        told = sorted((n.channel, n.target) for n in s.scalars(select(Notification)))
        assert told == [("email", "chen@huading.example"), ("wecom", "default@ChenGang")]  # not li


def test_without_a_manager_on_duty_every_manager_is_told_as_before(db):
    with db.session() as s:
        _night_record(s)
        s.delete(s.scalar(select(RosterEntry).where(RosterEntry.duty == "manager")))
        s.flush()
        events = check_clocks(
            s,
            playbooks=list(LIBRARY.values()),
            chain=CHAIN,
            now=TWO_AM,
            desk_base_url=DESK,
            resolve=R.roster_resolver(TWO_AM),
        )
        assert [e.people for e in events] == [["chen", "li"]]


def test_duty_entries_in_the_chain_and_alert_chasing(db):
    assert validate_chain(["duty:primary", "duty:manager"]) == ("duty:primary", "duty:manager")
    with pytest.raises(ChainError, match="duty"):
        validate_chain(["owner", "duty:janitor"])
    with db.session() as s:
        _people(s)
        alert = outage_alert(s, level="I", at=TWO_AM - timedelta(minutes=6))  # nobody acknowledged it
        R.add_entry(s, ADMIN, day="2026-10-02", duty="manager", username="chen")
        R.add_entry(s, ADMIN, day="2026-10-02", duty="primary", username="wang")
        chased = chase_alerts(
            s,
            playbooks=list(LIBRARY.values()),
            chain=["owner", "duty:primary", "role:manager"],
            now=TWO_AM,
            desk_base_url=DESK,
            resolve=R.roster_alert_resolver(TWO_AM),
        )
        assert [(c.alert_id, c.entry, c.people) for c in chased] == [(alert.id, "duty:primary", ["wang"])]


def test_a_csv_saved_by_excel_in_gb18030_is_read(db):
    text = HEADER + "2026-10-01,00:00,24:00,带班负责人,li,,国庆首日\n"
    with db.session() as s:
        _people(s)
        (entry,) = R.import_csv(s, ADMIN, text.encode("gb18030"))
        assert (entry.duty, entry.note) == ("manager", "国庆首日")
