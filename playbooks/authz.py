"""Who may do what on the desk: roles, permissions and the one check every action makes.

The check runs in the action itself (server side, in the domain function that changes the record),
not only in the page that shows the button: a hidden button is a convenience, this is the rule.

Roles: 值班员 (officer) triages and handles alerts; 负责人 (manager) also approves holding statements,
closes escalations, generates and signs reports; 管理员 (admin) also keeps users, playbooks, sources
and notification channels. Each role includes the ones before it.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.models import ROLES

ROLE_LABELS = {"officer": "值班员", "manager": "负责人", "admin": "管理员"}

OFFICER, MANAGER, ADMIN = ROLES

# permission → the least role that holds it (roles are ordered: officer < manager < admin)
PERMISSIONS: dict[str, str] = {
    # triage
    "alert.view": OFFICER,
    "alert.acknowledge": OFFICER,
    "alert.assign": OFFICER,
    "alert.false_positive": OFFICER,
    "alert.reopen": MANAGER,  # put a dismissed (false positive) or closed alert back in the queue
    "alert.export_false_positives": MANAGER,
    # escalation records
    "escalation.open": OFFICER,
    "escalation.transition": OFFICER,
    "escalation.assign": OFFICER,
    "escalation.step_done": OFFICER,
    "escalation.close": MANAGER,  # resolved → closed is a manager's decision
    "statement.draft": OFFICER,
    "statement.approve": MANAGER,  # compliance sign-off before a holding statement is used
    # rumor register
    "rumor.edit": OFFICER,
    # reports
    "report.generate": MANAGER,
    "report.sign": MANAGER,
    # administration
    "playbook.edit": ADMIN,
    "user.manage": ADMIN,
    "notify.test": ADMIN,
    "notify.configure": ADMIN,
    "roster.edit": ADMIN,  # the duty roster (playbooks/roster.py)
    "calendar.edit": ADMIN,  # enter the State Council's holiday notice (playbooks/holiday_entries.py)
    "drill.run": MANAGER,  # start a drill (playbooks/drills, yuqing drill run)
    # learning from the desk: fit the firm's layer on the verdicts, switch it on, roll it back (yuqing learn)
    "feedback.learn": MANAGER,
}


class PermissionDenied(Exception):
    """The signed-in person's role does not allow this action; the message is Chinese, shown as is."""


@dataclass(frozen=True)
class Actor:
    """The person acting: recorded in the audit trail by ``username``; ``role`` decides what is allowed."""

    username: str
    role: str
    display_name: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; one of {ROLES}")
        if not self.username.strip():
            raise ValueError("an actor needs a username")

    @property
    def label(self) -> str:
        """For people: 王晓明（值班员）."""
        return f"{self.display_name or self.username}（{ROLE_LABELS[self.role]}）"

    def can(self, permission: str) -> bool:
        return role_allows(self.role, permission)


def role_allows(role: str, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(PERMISSIONS[permission])


def require(actor: Actor | None, permission: str) -> Actor:
    """Return the actor when its role allows ``permission``; else raise PermissionDenied (in Chinese)."""
    if actor is None:
        raise PermissionDenied("请先登录值守台。")
    if not role_allows(actor.role, permission):
        need = ROLE_LABELS[PERMISSIONS[permission]]
        raise PermissionDenied(
            f"当前账号（{ROLE_LABELS.get(actor.role, actor.role)}）无权执行此操作，需要{need}或以上权限。"
        )
    return actor
