"""Reports: the regulator report draft (报告证监局) as Markdown + .docx, kept as ``Report`` rows."""

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
    "ReportError",
    "ReportRefused",
    "docx_text",
    "escape",
    "regulator_report",
    "report_docx",
    "reports_for",
    "sign_report",
    "unescape",
    "verify",
]
