"""Reports as Markdown + .docx, kept as ``Report`` rows and signed off by a manager: the regulator report
draft (报告证监局), the daily brief (舆情日报) and the post-holiday summary (假期舆情工作总结).

Each is built as data first (``regulator_facts``, ``daily_facts``, ``holiday_facts``: plain values read
from the records and the posts index) and rendered second (``render_markdown``, from the Jinja2 templates
in templates/); what they share is in ``common``."""

from playbooks.reports.common import ReportConflict, ReportError, ReportRefused
from playbooks.reports.daily import daily_report
from playbooks.reports.holiday import Period, holiday_report, period_between, period_for_holiday
from playbooks.reports.periodic import ReportFiles, files_of, report_files, reports_of, signed_markdown
from playbooks.reports.regulator import (
    KIND,
    ReportableRecord,
    draft_docx,
    regulator_report,
    report_docx,
    reportable_records,
    reports_for,
    sign_report,
    verify,
)
from playbooks.reports.wordfile import docx_text, escape, unescape

__all__ = [
    "KIND",
    "Period",
    "ReportConflict",
    "ReportError",
    "ReportFiles",
    "ReportRefused",
    "ReportableRecord",
    "daily_report",
    "docx_text",
    "draft_docx",
    "escape",
    "files_of",
    "holiday_report",
    "period_between",
    "period_for_holiday",
    "regulator_report",
    "report_docx",
    "report_files",
    "reportable_records",
    "reports_for",
    "reports_of",
    "sign_report",
    "signed_markdown",
    "unescape",
    "verify",
]
