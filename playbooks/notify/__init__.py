"""Notifications: 企业微信, 钉钉 and 飞书 group bots and email, through a durable outbox.

Whoever needs to tell someone something calls :func:`playbooks.notify.outbox.enqueue` inside its own
transaction (so a rolled-back change tells nobody); a sender delivers the outbox with retries.
Messages about drills are kept but never sent (status ``suppressed``).
"""
