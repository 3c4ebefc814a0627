"""The one sign-off button callback shared by the report pages (报告证监局, 日报与假期总结)."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from desk import state
from playbooks.authz import PermissionDenied
from playbooks.reports import ReportConflict, ReportError, sign_report
from store.models import utcnow


def sign(report_id: int, done: str = "报告已签发，签发人与签发时间已记录。") -> None:
    """签发: a manager signs report ``report_id`` off (role checked again in sign_report); a flash says how it
    went (``done`` on success)."""
    ctx = state.get_context()
    try:
        with ctx.records.session() as s:
            sign_report(s, report_id, actor=state.current_actor(), now=utcnow())
    except ReportConflict as exc:  # another manager signed it first: 已被他人签发
        state.flash("warning", str(exc))
        return
    except (PermissionDenied, ReportError) as exc:
        state.flash("error", str(exc))
        return
    except SQLAlchemyError:
        state.flash("error", "签发未能保存，请稍后重试。")
        return
    state.flash("success", done)
