"""Reports as Markdown + .docx, kept as ``Report`` rows and signed off by a manager: the regulator report
draft (报告证监局), the daily brief (舆情日报) and the post-holiday summary (假期舆情工作总结)."""

from playbooks.reports.daily import daily_report
from playbooks.reports.holiday import Period, holiday_report, period_between, period_for_holiday
from playbooks.reports.periodic import report_files, reports_of, signed_markdown
from playbooks.reports.regulator import (
    KIND,
    ReportError,
    ReportRefused,
    regulator_report,
    report_docx,
    reports_for,
    sign_report,
    verify,
)
from playbooks.reports.wordfile import docx_text, escape, unescape

__all__ = [
    "KIND",
    "Period",
    "ReportError",
    "ReportRefused",
    "daily_report",
    "docx_text",
    "escape",
    "holiday_report",
    "period_between",
    "period_for_holiday",
    "regulator_report",
    "report_docx",
    "report_files",
    "reports_for",
    "reports_of",
    "sign_report",
    "signed_markdown",
    "unescape",
    "verify",
]
